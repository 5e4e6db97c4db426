"""Properties of the one invoice builder and of the proration rule (pure, no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from billing.invoicing import DiscountSpec, LineDraft, TaxSpec, build_document
from billing.proration import prorate, remaining_fraction
from cobro.money import currency_exponent

RATES = [
    TaxSpec(1, "IVA", Decimal("19")),
    TaxSpec(2, "IVA AR", Decimal("21")),
    TaxSpec(3, "IVA MX", Decimal("16")),
    TaxSpec(4, "odd", Decimal("7.3333")),
]

currencies = st.sampled_from(["CLP", "USD", "KWD"])
taxes = st.one_of(st.none(), st.sampled_from(RATES))
line = st.builds(
    lambda amount, qty, tax, inclusive, kind: LineDraft(
        kind=kind,
        description="x",
        amount_minor=amount * qty,
        quantity=qty,
        unit_amount_minor=amount,
        tax=tax,
        tax_inclusive=inclusive and tax is not None,
        discountable=kind == "subscription",
    ),
    st.integers(1, 10**9),
    st.integers(1, 50),
    taxes,
    st.booleans(),
    st.sampled_from(["subscription", "setup_fee", "manual", "proration"]),
)
discounts = st.one_of(
    st.none(),
    st.builds(
        lambda p: DiscountSpec("d", percent_off=Decimal(p) / 100),
        st.integers(1, 10_000),
    ),
    st.builds(lambda a: DiscountSpec("d", amount_off_minor=a), st.integers(1, 10**10)),
)


@given(currencies, st.lists(line, min_size=1, max_size=12), discounts, st.integers(0, 10**10))
def test_lines_and_taxes_sum_exactly_to_total(currency, lines, discount, credit):
    currency_exponent(currency)  # the builder works in minor units of any exponent
    doc = build_document(
        currency=currency, lines=lines, discount=discount, credit_available_minor=credit
    )
    assert sum(ln.amount_minor for ln in doc.lines) + doc.exclusive_tax_minor == doc.total_minor
    assert doc.subtotal_minor - doc.discount_minor + doc.exclusive_tax_minor == doc.total_minor
    assert doc.total_minor - doc.credit_applied_minor == doc.amount_due_minor
    assert 0 <= doc.credit_applied_minor <= max(doc.total_minor, 0)
    assert doc.amount_due_minor >= 0
    discountable = sum(ln.amount_minor for ln in lines if ln.discountable)
    assert 0 <= doc.discount_minor <= discountable
    # One tax row per (rate, inclusive) group; inclusive net + tax == gross exactly.
    keys = [(t.tax, t.inclusive) for t in doc.taxes]
    assert len(keys) == len(set(keys))
    for t in doc.taxes:
        gross = sum(
            ln.amount_minor
            for ln in doc.lines
            if ln.tax == t.tax and ln.tax_inclusive == t.inclusive
        )
        if t.inclusive:
            assert t.taxable_base_minor + t.amount_minor == gross
        else:
            assert t.taxable_base_minor == gross
        assert abs(Fraction(t.amount_minor) - exact_tax(gross, t.tax.percentage, t.inclusive)) <= (
            Fraction(1, 2)
        )


def exact_tax(base, pct, inclusive):
    p = Fraction(pct)
    return Fraction(base) * p / (100 + p) if inclusive else Fraction(base) * p / 100


def test_tax_is_rounded_once_per_rate_not_per_line():
    # Three lines of 1 CLP at 19%: per-line rounding would give 0; per document 0.57 -> 1.
    lines = [LineDraft(kind="manual", description="x", amount_minor=1, tax=RATES[0])] * 3
    doc = build_document(currency="CLP", lines=lines)
    assert doc.tax_minor == 1
    assert doc.total_minor == 4


def test_inclusive_iva_extracted_from_gross_clp():
    lines = [
        LineDraft(
            kind="manual", description="x", amount_minor=11_900, tax=RATES[0], tax_inclusive=True
        )
    ]
    doc = build_document(currency="CLP", lines=lines)
    assert (doc.total_minor, doc.tax_minor, doc.taxes[0].taxable_base_minor) == (
        11_900,
        1_900,
        10_000,
    )


PERIOD_START = datetime(2025, 1, 1, 3, tzinfo=UTC)
PERIOD_END = datetime(2025, 2, 1, 3, tzinfo=UTC)
instants = st.integers(0, int((PERIOD_END - PERIOD_START).total_seconds())).map(
    lambda s: PERIOD_START + timedelta(seconds=s)
)


def frac(at):
    return remaining_fraction(
        at=at, period_end=PERIOD_END, full_start=PERIOD_START, full_end=PERIOD_END
    )


@given(st.integers(1, 10**12), st.integers(1, 100), instants)
def test_proration_never_negative_and_never_exceeds_price(amount, qty, at):
    credit = prorate(amount * qty, frac(at))
    assert 0 <= credit <= amount * qty


@given(st.integers(1, 10**9), st.integers(1, 10**9), instants, instants)
def test_upgrade_then_downgrade_nets_to_expected(old, new, t1, t2):
    t1, t2 = min(t1, t2), max(t1, t2)
    f1, f2 = frac(t1), frac(t2)
    upgrade = -prorate(old, f1) + prorate(new, f1)
    downgrade = -prorate(new, f2) + prorate(old, f2)
    exact = (Fraction(new) - Fraction(old)) * (f1 - f2)
    # Each of the four lines is rounded once: at most half a minor unit each.
    assert abs(upgrade + downgrade - exact) <= 2
    if t1 == t2:
        assert upgrade + downgrade == 0
