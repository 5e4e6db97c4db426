"""The one invoice builder (pure: no database). Renewals, prorations, one-off invoices, credit
notes and previews all go through ``build_document``.

Rules (amounts are int minor units of one currency):

* Lines are signed; charges are positive, discounts and credits negative.
* Discount (a coupon): computed once on the sum of the *discountable* lines (the recurring
  subscription lines), ``percent_off`` exactly and rounded once, or ``amount_off`` capped at
  that sum; then split over the tax groups of the discountable lines in proportion to their
  amounts with ``cobro.money.allocate`` (largest remainder), one negative discount line per
  group, so the discount reduces each rate's taxable base.
* Tax: lines are grouped by (tax rate, inclusive). For each group the amounts are summed into
  one base and the tax is computed on it exactly and rounded ONCE per document per rate with
  ``cobro.money.round_half_up``: exclusive ``tax = base * p/100``; inclusive (the base is gross)
  ``tax = base * p/(100+p)`` and the net base is ``base - tax``, so net + tax == gross exactly.
* Totals: ``subtotal`` = sum of non-discount lines; ``discount`` = minus the sum of discount
  lines; ``total = subtotal - discount + exclusive tax`` which equals
  ``sum(lines) + exclusive tax``; ``credit_applied = min(credit available, max(total, 0))``;
  ``amount_due = total - credit_applied``. A negative total means the document owes the
  customer money (a net proration credit): callers move it to the credit balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from cobro.money import allocate, round_half_up


@dataclass(frozen=True, slots=True)
class TaxSpec:
    rate_id: int | None
    name: str
    percentage: Decimal


@dataclass(frozen=True, slots=True)
class LineDraft:
    kind: str
    description: str
    amount_minor: int
    quantity: int = 1
    unit_amount_minor: int | None = None
    tax: TaxSpec | None = None
    tax_inclusive: bool = False
    price_id: int | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    discountable: bool = False

    @property
    def unit_amount(self) -> int:
        return self.amount_minor if self.unit_amount_minor is None else self.unit_amount_minor


@dataclass(frozen=True, slots=True)
class DiscountSpec:
    description: str
    percent_off: Decimal | None = None
    amount_off_minor: int | None = None
    coupon_id: int | None = None


@dataclass(frozen=True, slots=True)
class TaxDraft:
    tax: TaxSpec
    inclusive: bool
    taxable_base_minor: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class DocumentDraft:
    currency: str
    lines: tuple[LineDraft, ...]
    taxes: tuple[TaxDraft, ...]
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    credit_applied_minor: int
    amount_due_minor: int
    coupon_id: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def exclusive_tax_minor(self) -> int:
        return sum(t.amount_minor for t in self.taxes if not t.inclusive)


def _group_key(line: LineDraft) -> tuple:
    if line.tax is None:
        return (None, False)
    return (line.tax, line.tax_inclusive)


def discount_amount(base_minor: int, spec: DiscountSpec) -> int:
    """The discount on ``base_minor`` (>= 0), never more than the base."""
    if base_minor <= 0:
        return 0
    if spec.percent_off is not None:
        value = round_half_up(Fraction(base_minor) * Fraction(spec.percent_off) / 100)
    else:
        value = spec.amount_off_minor or 0
    return max(0, min(value, base_minor))


def tax_for_base(base_minor: int, percentage: Decimal, inclusive: bool) -> int:
    """Tax of one rate on one document's base, rounded once (see module docstring)."""
    p = Fraction(percentage)
    if inclusive:
        return round_half_up(Fraction(base_minor) * p / (100 + p))
    return round_half_up(Fraction(base_minor) * p / 100)


def build_document(
    *,
    currency: str,
    lines: list[LineDraft],
    discount: DiscountSpec | None = None,
    credit_available_minor: int = 0,
    extra_discounts: tuple[DiscountSpec, ...] = (),
) -> DocumentDraft:
    """``extra_discounts`` (renewal discount providers, see ``billing.renewal_discounts``) are
    applied after the coupon, each on what the previous ones left of the discountable lines,
    by the same rule; the coupon id comes from ``discount`` only."""
    all_lines = list(lines)
    coupon_id = None
    specs = [d for d in (discount, *extra_discounts) if d is not None]
    groups: dict[tuple, int] = {}
    if specs:
        for line in all_lines:
            if line.discountable and line.amount_minor > 0:
                key = _group_key(line)
                groups[key] = groups.get(key, 0) + line.amount_minor
    for spec in specs:
        total_discount = discount_amount(sum(groups.values()), spec)
        if total_discount > 0:
            if spec is discount:
                coupon_id = spec.coupon_id
            keys = list(groups)
            parts = allocate(total_discount, [groups[k] for k in keys])
            for key, part in zip(keys, parts, strict=True):
                if part == 0:
                    continue
                groups[key] -= part
                tax, inclusive = key
                all_lines.append(
                    LineDraft(
                        kind="discount",
                        description=spec.description,
                        amount_minor=-part,
                        unit_amount_minor=-part,
                        tax=tax,
                        tax_inclusive=inclusive,
                    )
                )

    bases: dict[tuple, int] = {}
    for line in all_lines:
        if line.tax is not None:
            key = _group_key(line)
            bases[key] = bases.get(key, 0) + line.amount_minor
    taxes: list[TaxDraft] = []
    for (tax, inclusive), base in bases.items():
        amount = tax_for_base(base, tax.percentage, inclusive)
        net = base - amount if inclusive else base
        taxes.append(TaxDraft(tax, inclusive, net, amount))

    subtotal = sum(ln.amount_minor for ln in all_lines if ln.kind != "discount")
    discount_total = -sum(ln.amount_minor for ln in all_lines if ln.kind == "discount")
    exclusive_tax = sum(t.amount_minor for t in taxes if not t.inclusive)
    total = subtotal - discount_total + exclusive_tax
    credit_applied = max(0, min(credit_available_minor, total))
    return DocumentDraft(
        currency=currency,
        lines=tuple(all_lines),
        taxes=tuple(taxes),
        subtotal_minor=subtotal,
        discount_minor=discount_total,
        tax_minor=sum(t.amount_minor for t in taxes),
        total_minor=total,
        credit_applied_minor=credit_applied,
        amount_due_minor=total - credit_applied,
        coupon_id=coupon_id,
    )


def with_credit(doc: DocumentDraft, credit_available_minor: int) -> DocumentDraft:
    applied = max(0, min(credit_available_minor, doc.total_minor))
    return replace(doc, credit_applied_minor=applied, amount_due_minor=doc.total_minor - applied)
