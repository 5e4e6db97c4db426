"""Money on integer minor units.

Amounts are ``int`` in the currency's minor unit with an ISO 4217 code; the exponent comes from
ISO 4217 through babel's CLDR data (CLP 0, USD 2, KWD 3), never a hard-coded 2.

Rounding rule (the one rule, used everywhere): when a computation produces a fraction of a
minor unit it is rounded once, half away from zero (ROUND_HALF_UP on the magnitude), at the end
of the computation. Splits use ``allocate`` so parts always sum exactly to the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache, lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies

# babel's CLDR data disagree with ISO 4217 for a few codes (CLDR gives the *cash* digits).
# For the currencies below CLDR's "digits" are 0 (nobody uses the minor unit) while ISO 4217
# defines 2 (3 for IQD); amounts exchanged with gateways and banks follow ISO.
_ISO_EXPONENT_OVERRIDES = {
    "CLP": 0,
    "COP": 2,
    "HUF": 2,
    "TWD": 2,
    "IQD": 3,
    "UYW": 4,
    "ALL": 2,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "RSD": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}


class CurrencyError(ValueError):
    pass


@cache
def currency_exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent of ``currency`` (CLP 0, USD 2, KWD 3)."""
    code = currency.upper()
    if code in _ISO_EXPONENT_OVERRIDES:
        return _ISO_EXPONENT_OVERRIDES[code]
    if code not in _known_currencies():
        raise CurrencyError(f"Unknown currency {currency!r}")
    return int(get_currency_precision(code))


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code.upper() in _known_currencies()


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round a rational number of minor units to an int, half away from zero."""
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, remainder = divmod(magnitude.numerator, magnitude.denominator)
    if remainder * 2 >= magnitude.denominator:
        whole += 1
    return sign * whole


def allocate(amount_minor: int, weights: list[int]) -> list[int]:
    """Split ``amount_minor`` in proportion to ``weights``; parts sum exactly to the amount.

    Largest-remainder method: each part gets the floor of its share, and the leftover units go,
    one each, to the parts with the largest remainders (earlier parts win ties).
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(isinstance(w, bool) or not isinstance(w, int) for w in weights):
        raise TypeError("allocation weights must be ints")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    total = sum(weights)
    if total == 0:
        raise ValueError("weights must not all be zero")
    sign = -1 if amount_minor < 0 else 1
    magnitude = abs(amount_minor)
    parts = []
    remainders = []
    for i, w in enumerate(weights):
        q, r = divmod(magnitude * w, total)
        parts.append(q)
        remainders.append((-r, i))
    leftover = magnitude - sum(parts)
    for _, i in sorted(remainders)[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of an ISO 4217 currency. Immutable; arithmetic checks currency."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("Money.amount_minor must be an int (minor units), never a float")
        if not is_currency(self.currency):
            raise CurrencyError(f"Unknown currency {self.currency!r}")
        code = self.currency.upper()
        if not is_currency(code):
            raise CurrencyError(f"Unknown currency {self.currency!r}")
        object.__setattr__(self, "currency", code)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, value: str | Decimal | int, currency: str) -> Money:
        """Parse a major-unit amount exactly (``"12.99"`` USD -> 1299). Rejects extra digits."""
        if isinstance(value, float):
            raise TypeError("Money never comes from a float")
        try:
            dec = Decimal(str(value).strip())
        except ArithmeticError:
            raise ValueError(f"{value!r} is not an amount") from None
        if not dec.is_finite():
            raise ValueError(f"{value!r} is not an amount")
        exp = currency_exponent(currency)
        scaled = dec.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more decimals than {currency} allows ({exp})")
        return cls(int(scaled), currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-self.exponent)

    # -- arithmetic -----------------------------------------------------------------------
    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("multiply Money by an int; use .scale() for fractions")
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def scale(self, ratio: Fraction | int | Decimal) -> Money:
        """Multiply by an exact ratio and round once (half away from zero)."""
        if isinstance(ratio, float) or not isinstance(ratio, Fraction | int | Decimal):
            raise TypeError("scale Money by an exact Fraction, int or Decimal, never a float")
        if isinstance(ratio, Decimal):
            ratio = Fraction(ratio)
        return Money(round_half_up(Fraction(self.amount_minor) * ratio), self.currency)

    def allocate(self, weights: list[int]) -> list[Money]:
        return [Money(p, self.currency) for p in allocate(self.amount_minor, weights)]

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount_minor >= other.amount_minor

    def __bool__(self) -> bool:
        return self.amount_minor != 0

    # -- display --------------------------------------------------------------------------
    def format(self, locale: str = "es_CL") -> str:
        """Locale formatting: es-CL shows ``$12.990`` for 12990 CLP."""
        loc = Locale.parse(locale.replace("-", "_"))
        return format_locale_amount(self.to_decimal(), self.currency, loc, self.exponent)

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"


def format_locale_amount(value: Decimal, currency: str, locale: Locale, exponent: int) -> str:
    fmt = "¤#,##0" if exponent == 0 else "¤#,##0." + "0" * exponent
    # The local currency shows as a bare "$" in Chile/Argentina/Mexico; others keep their code.
    text = format_currency(
        value, currency, format=fmt, locale=locale, currency_digits=False, format_type="standard"
    )
    return text.replace("\xa0", " ")


def format_money(amount_minor: int, currency: str, locale: str = "es_CL") -> str:
    return Money(amount_minor, currency).format(locale)
