"""Production, ``manage.py runall`` and the API benchmark start gunicorn with one config."""

from __future__ import annotations

import importlib
from pathlib import Path

from cobro import gunicorn_conf

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "python:cobro.gunicorn_conf"


def test_web_workers_keep_connections_alive_with_threads():
    # Sync workers close the connection after every response; gthread keeps it open.
    assert gunicorn_conf.worker_class == "gthread"
    assert gunicorn_conf.threads >= 2
    assert gunicorn_conf.keepalive >= 2


def test_web_concurrency_sets_the_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert importlib.reload(gunicorn_conf).workers == 7
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert importlib.reload(gunicorn_conf).workers == 3


def test_every_gunicorn_start_uses_the_shared_config():
    for path in ("Dockerfile", "cobro/management/commands/runall.py", "tests/bench/bench_api.py"):
        text = (ROOT / path).read_text()
        assert CONFIG in text, path
        assert "--worker-class" not in text and '"--threads"' not in text, path
