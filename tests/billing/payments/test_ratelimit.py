import pytest

from billing.gateways import ratelimit
from billing.gateways.base import GatewayRateLimited
from billing.gateways.sandbox import SandboxGateway


def test_429_answers_are_retried_with_growing_backoff_then_succeed():
    answers = [GatewayRateLimited("429"), GatewayRateLimited("429"), "charged"]
    slept: list[float] = []

    def call():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert ratelimit.call_limited(SandboxGateway(), call, sleep=slept.append) == "charged"
    assert len(slept) == 2
    assert slept[1] > slept[0] * 1.0 - 1e-9 or slept[1] >= ratelimit.BACKOFF_BASE_SECONDS


def test_persistent_429_gives_up_without_a_result():
    calls = []

    def call():
        calls.append(1)
        raise GatewayRateLimited("429")

    with pytest.raises(GatewayRateLimited):
        ratelimit.call_limited(SandboxGateway(), call, sleep=lambda s: None)
    assert len(calls) == ratelimit.MAX_RATE_LIMITED_TRIES
