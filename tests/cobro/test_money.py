"""Money on integer minor units: property tests for allocation, parsing and arithmetic."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobro.money import CurrencyError, Money, allocate, currency_exponent, round_half_up

CURRENCIES = ["CLP", "USD", "KWD"]  # exponents 0, 2 and 3
amounts = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(CURRENCIES)
weights = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)


def test_exponents_come_from_iso_4217():
    assert [currency_exponent(c) for c in CURRENCIES] == [0, 2, 3]
    assert currency_exponent("jpy") == 0
    assert currency_exponent("IQD") == 3  # CLDR says 0; ISO 4217 says 3
    assert currency_exponent("RSD") == 2  # CLDR says 0; ISO 4217 says 2
    with pytest.raises(CurrencyError):
        currency_exponent("XYZ")


@given(amount=amounts, currency=currencies, weights=weights)
def test_allocation_sums_exactly_and_each_part_is_within_one_unit_of_its_share(
    amount, currency, weights
):
    parts = Money(amount, currency).allocate(weights)
    assert sum(p.amount_minor for p in parts) == amount
    assert all(p.currency == currency for p in parts)
    total = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Fraction(amount * w, total)
        assert abs(part.amount_minor - exact) < 1
        if w == 0:
            assert part.amount_minor == 0


@given(amount=amounts, currency=currencies, n=st.integers(min_value=1, max_value=50))
def test_equal_split_parts_differ_by_at_most_one_unit(amount, currency, n):
    parts = [p.amount_minor for p in Money(amount, currency).allocate([1] * n)]
    assert sum(parts) == amount
    assert max(parts) - min(parts) <= 1


def test_allocation_gives_leftover_units_to_earlier_parts():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(5, [0, 1, 1]) == [0, 3, 2]


def test_allocation_rejects_bad_weights():
    for bad in ([], [0, 0], [1, -1]):
        with pytest.raises(ValueError):
            allocate(100, bad)
    with pytest.raises(TypeError):
        allocate(100, [0.5, 0.5])


@given(amount=amounts, currency=currencies)
def test_major_units_round_trip(amount, currency):
    money = Money(amount, currency)
    assert Money.from_major(money.to_decimal(), currency) == money
    assert Money.from_major(str(money.to_decimal()), currency) == money


def test_from_major_parses_exactly_per_currency():
    assert Money.from_major("12.99", "USD").amount_minor == 1299
    assert Money.from_major("12990", "CLP").amount_minor == 12990
    assert Money.from_major("1.234", "KWD").amount_minor == 1234
    assert Money.from_major(Decimal("-0.5"), "USD").amount_minor == -50


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("12.5", "CLP"),
        ("0.001", "USD"),
        ("1.2345", "KWD"),
        ("abc", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
    ],
)
def test_from_major_refuses_what_the_currency_cannot_hold(value, currency):
    with pytest.raises(ValueError):
        Money.from_major(value, currency)


def test_money_never_comes_from_a_float():
    with pytest.raises(TypeError):
        Money.from_major(12.99, "USD")
    with pytest.raises(TypeError):
        Money(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100, "USD") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100, "USD").scale(0.5)  # type: ignore[arg-type]


@given(a=amounts, b=amounts)
def test_arithmetic_refuses_currency_mismatch(a, b):
    with pytest.raises(CurrencyError):
        Money(a, "CLP") + Money(b, "USD")
    with pytest.raises(CurrencyError):
        Money(a, "USD") - Money(b, "KWD")
    with pytest.raises(CurrencyError):
        Money(a, "USD") < Money(b, "CLP")  # noqa: B015


@given(a=amounts, b=amounts, currency=currencies, k=st.integers(-1000, 1000))
def test_arithmetic_is_exact_integer_arithmetic(a, b, currency, k):
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y).amount_minor == a + b
    assert (x - y).amount_minor == a - b
    assert (x * k).amount_minor == a * k == (k * x).amount_minor
    assert (-x).amount_minor == -a
    assert (x < y) == (a < b)


def test_adding_a_plain_number_is_refused():
    with pytest.raises(TypeError):
        Money(100, "USD") + 1  # type: ignore[operator]


@given(amount=amounts, num=st.integers(-1000, 1000), den=st.integers(1, 1000))
def test_scale_rounds_once_half_away_from_zero(amount, num, den):
    ratio = Fraction(num, den)
    scaled = Money(amount, "USD").scale(ratio).amount_minor
    exact = amount * ratio
    assert abs(scaled - exact) <= Fraction(1, 2)
    if abs(scaled - exact) == Fraction(1, 2):
        assert abs(scaled) > abs(exact)  # ties go away from zero


def test_round_half_up_rule():
    assert [round_half_up(Fraction(n, 2)) for n in (-3, -1, 1, 3, 5)] == [-2, -1, 1, 2, 3]
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("-2.5")) == -3


def test_currency_codes_are_normalised_and_validated():
    assert Money(100, "usd") == Money(100, "USD")
    with pytest.raises(CurrencyError):
        Money(100, "XYZ")
    with pytest.raises(CurrencyError):
        Money(100, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("money", "locale", "text"),
    [
        (Money(12990, "CLP"), "es_CL", "$12.990"),
        (Money(1299000, "CLP"), "es-CL", "$1.299.000"),
        (Money(-12990, "CLP"), "es_CL", "-$12.990"),
        (Money(1299, "USD"), "en", "$12.99"),
        (Money(1299, "USD"), "es_CL", "US$12,99"),
        (Money(12345, "KWD"), "en", "KWD12.345"),
    ],
)
def test_locale_formatting(money, locale, text):
    assert money.format(locale) == text


def test_default_format_is_chilean_spanish():
    assert Money(12990, "CLP").format() == "$12.990"
    assert str(Money(1299, "USD")) == "12.99 USD"
