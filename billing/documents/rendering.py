"""Render issued documents (invoices, credit notes) to PDF with WeasyPrint.

The HTML comes from ``documents/invoice.html`` rendered in the customer's language; amounts are
formatted with ``cobro.money`` for the customer's language and the organization's country
(es + CL -> ``$12.990``); dates are local to the organization's time zone. Nothing is fetched
from the network: the only URLs WeasyPrint may open are ``data:`` URIs (the logo is embedded),
and fonts are the machine's: a Latin subset of DejaVu Sans made once per process and embedded
as a ``data:`` @font-face, then DejaVu through fontconfig.

Cost per render (issue 5): the document uses its own user-agent stylesheet (ua.css), the
parsed stylesheets and the font configuration are per process, and each worker process is
warmed up and its heap frozen for the garbage collector (``prepare_worker_process``).
"""

from __future__ import annotations

import atexit
import base64
import gc
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from cobro.money import Money

logger = logging.getLogger(__name__)

# A logo bigger than this (bytes or pixels per side) is left out rather than bloating every
# PDF; the organization's name is shown in its place.
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIDE_PX = 4000
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
DEFAULT_BRAND_COLOR = "#1f6feb"
# The brand colour is written into the stylesheet: only plain hex colours get there.
BRAND_COLOR_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def harfbuzz_subsetting_available() -> bool:
    """True when WeasyPrint subsets fonts with HarfBuzz (libharfbuzz-subset0): the fast path.
    Without it WeasyPrint falls back to fontTools, about five times slower."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def document_language(customer) -> str:
    lang = (getattr(customer, "locale", "") or settings.LANGUAGE_CODE).lower()
    return "en" if lang.startswith("en") else "es-419"


@cache
def number_locale(language: str, country: str) -> str:
    """Babel locale for numbers: the language in the organization's country when CLDR has it
    (es_CL: ``$12.990``), else the bare language."""
    base = language.split("-")[0]
    for candidate in (f"{base}_{country}", base):
        try:
            Locale.parse(candidate)
            return candidate
        except (UnknownLocaleError, ValueError):
            continue
    return "es"


@dataclass(frozen=True)
class Formatter:
    language: str
    number_locale: str
    tz: ZoneInfo
    currency: str

    def money(self, amount_minor: int) -> str:
        return Money(amount_minor, self.currency).format(self.number_locale)

    def date(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_date(value.astimezone(self.tz).date(), "medium", locale=self.number_locale)

    def last_day(self, end: datetime | None) -> str:
        """Periods are half-open [start, end); show the last day included."""
        if end is None:
            return ""
        return self.date(end - timedelta(seconds=1))


def logo_data_uri(organization) -> str:
    """The organization's logo as a data URI, or "" when missing, unreadable or oversized."""
    logo = organization.logo
    if not logo or not logo.name:
        return ""
    try:
        with logo.storage.open(logo.name, "rb") as fh:
            data = fh.read(LOGO_MAX_BYTES + 1)
    except OSError:
        logger.info("logo of organization %s is missing; rendering without it", organization.pk)
        return ""
    if len(data) > LOGO_MAX_BYTES:
        logger.info("logo of organization %s is too large; rendering without it", organization.pk)
        return ""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
    except Exception:
        logger.info("logo of organization %s is not an image; skipped", organization.pk)
        return ""
    if fmt not in LOGO_TYPES or max(width, height) > LOGO_MAX_SIDE_PX:
        return ""
    return f"data:{LOGO_TYPES[fmt]};base64,{base64.b64encode(data).decode()}"


# What a tax id is called where it is issued (shown as the label of the number).
TAX_ID_NAMES = {"CL": "RUT", "UY": "RUT", "MX": "RFC", "AR": "CUIT", "CO": "NIT", "PE": "RUC"}


def tax_id_label(country: str) -> str:
    return TAX_ID_NAMES.get((country or "").upper(), "") or _("Tax ID")


def brand_color(org) -> str:
    color = (org.brand_color or "").strip()
    return color.lower() if BRAND_COLOR_RE.fullmatch(color) else DEFAULT_BRAND_COLOR


def _organization_context(org) -> dict:
    address_lines = [ln.strip() for ln in (org.address or "").splitlines() if ln.strip()]
    return {
        "tax_id_label": tax_id_label(org.country),
        "legal_name": org.legal_name or org.display_name,
        "display_name": org.display_name,
        "tax_id": org.tax_id,
        "address_lines": address_lines,
        # One paragraph with white-space: pre-line instead of one per line (fewer boxes).
        "address_text": "\n".join(address_lines),
        "brand_color": brand_color(org),
        "logo": logo_data_uri(org),
        "portal_url": f"{settings.SITE_URL}/p/{org.slug}/",
    }


def _customer_context(customer) -> dict:
    city_line = " ".join(p for p in (customer.postal_code, customer.city) if p)
    lines = [
        customer.address_line1,
        customer.address_line2,
        ", ".join(p for p in (city_line, customer.region) if p),
    ]
    address_lines = [ln for ln in lines if ln]
    tax_id_line = f"{tax_id_label(customer.country)}: {customer.tax_id}" if customer.tax_id else ""
    return {
        "tax_id_label": tax_id_label(customer.country),
        "name": customer.name,
        "tax_id": customer.tax_id,
        "email": customer.email,
        "address_lines": address_lines,
        # Tax id, address and email as one pre-line paragraph (fewer boxes).
        "contact_text": "\n".join(ln for ln in (tax_id_line, *address_lines, customer.email) if ln),
    }


def _tax_label(name: str, percentage) -> str:
    pct = f"{percentage.normalize():f}".rstrip(".")
    return f"{name} {pct}%"


def invoice_context(invoice, *, language: str | None = None) -> dict:
    """Everything the invoice template shows, already formatted (strings only)."""
    from billing.models import InvoiceStatus

    org = invoice.organization
    customer = invoice.customer
    language = language or document_language(customer)
    fmt = Formatter(
        language=language,
        number_locale=number_locale(language, org.country),
        tz=ZoneInfo(org.time_zone),
        currency=invoice.currency,
    )
    lines = []
    for line in invoice.lines.all():
        period = ""
        # A line's own period is shown only when it differs from the invoice's (prorations).
        own_period = (line.period_start, line.period_end) != (
            invoice.period_start,
            invoice.period_end,
        )
        if line.period_start and line.period_end and own_period:
            period = f"{fmt.date(line.period_start)} – {fmt.last_day(line.period_end)}"
        lines.append(
            {
                "description": line.description,
                "period": period,
                "quantity": line.quantity,
                "unit_amount": fmt.money(line.unit_amount_minor),
                "amount": fmt.money(line.amount_minor),
                "negative": line.amount_minor < 0,
            }
        )
    taxes = [
        {
            "label": _tax_label(tax.name, tax.percentage),
            "base": fmt.money(tax.taxable_base_minor),
            "amount": fmt.money(tax.amount_minor),
            "inclusive": tax.inclusive,
        }
        for tax in invoice.taxes.all()
    ]
    exclusive_tax = sum(t.amount_minor for t in invoice.taxes.all() if not t.inclusive)
    net_minor = invoice.total_minor - exclusive_tax
    status = invoice.status
    status_label = {
        InvoiceStatus.PAID: _("Paid"),
        InvoiceStatus.VOID: _("Void"),
        InvoiceStatus.UNCOLLECTIBLE: _("Uncollectible"),
    }.get(status, _("Payment due"))
    return {
        "language": language,
        "brand": _organization_context(org),
        "customer": _customer_context(customer),
        "doc": {
            "kind": "invoice",
            "title": _("Invoice"),
            "number": invoice.number or _("Draft"),
            "issued": fmt.date(invoice.issued_at or invoice.created_at),
            "due": fmt.date(invoice.due_at),
            "period": (
                f"{fmt.date(invoice.period_start)} – {fmt.last_day(invoice.period_end)}"
                if invoice.period_start and invoice.period_end
                else ""
            ),
            "paid_on": fmt.date(invoice.paid_at),
            "status": status,
            "status_label": status_label,
            "is_paid": status == InvoiceStatus.PAID,
            "currency": invoice.currency,
            "memo": invoice.memo,
        },
        "lines": lines,
        "taxes": taxes,
        "totals": {
            "subtotal": fmt.money(invoice.subtotal_minor),
            "discount": fmt.money(-invoice.discount_minor) if invoice.discount_minor else "",
            "net": fmt.money(net_minor),
            "total": fmt.money(invoice.total_minor),
            "credit_applied": (
                fmt.money(-invoice.credit_applied_minor) if invoice.credit_applied_minor else ""
            ),
            "amount_paid": fmt.money(invoice.amount_paid_minor),
            "amount_due": fmt.money(invoice.amount_due_minor),
        },
        "payment": {
            "show_transfer": status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
            and invoice.amount_due_minor > 0,
            # The payments app has no per-invoice transfer reference yet: the invoice number
            # is the reference customers write on their transfer.
            "reference": invoice.number or "",
            "automatic": invoice.collection_method == "charge_automatically",
        },
    }


def credit_note_context(credit_note, *, language: str | None = None) -> dict:
    org = credit_note.organization
    customer = credit_note.customer
    language = language or document_language(customer)
    fmt = Formatter(
        language=language,
        number_locale=number_locale(language, org.country),
        tz=ZoneInfo(org.time_zone),
        currency=credit_note.currency,
    )
    lines = [
        {
            "description": line.description,
            "period": "",
            "quantity": 1,
            "unit_amount": fmt.money(line.amount_minor),
            "amount": fmt.money(line.amount_minor),
            "negative": False,
        }
        for line in credit_note.lines.all()
    ]
    net_minor = credit_note.total_minor - credit_note.tax_minor
    return {
        "language": language,
        "brand": _organization_context(org),
        "customer": _customer_context(customer),
        "doc": {
            "kind": "credit_note",
            "title": _("Credit note"),
            "number": credit_note.number,
            "issued": fmt.date(credit_note.issued_at),
            "due": "",
            "period": "",
            "status": "issued",
            "status_label": _("Issued"),
            "is_paid": False,
            "currency": credit_note.currency,
            "memo": credit_note.reason,
            "refers_to": credit_note.invoice.number,
        },
        "lines": lines,
        "taxes": (
            [
                {
                    "label": _("Tax"),
                    "base": fmt.money(net_minor),
                    "amount": fmt.money(credit_note.tax_minor),
                    "inclusive": False,
                }
            ]
            if credit_note.tax_minor
            else []
        ),
        "totals": {
            "subtotal": fmt.money(credit_note.subtotal_minor),
            "discount": "",
            "net": fmt.money(net_minor),
            "total": fmt.money(credit_note.total_minor),
            "credit_applied": "",
            "amount_paid": "",
            "amount_due": "",
        },
        "payment": {"show_transfer": False, "reference": "", "automatic": False},
    }


# The documents' font: DejaVu Sans (Debian's fonts-dejavu-core), cut down once per process to
# the Latin, punctuation and currency characters of invoices (Spanish, English, amounts) and
# embedded through @font-face. The whole DejaVu Sans has ~6,000 glyphs: shaping every text
# run with it and subsetting it into every PDF was ~7% of a render's instructions. Characters
# outside the subset (a customer's name in Cyrillic, say) fall back to the whole DejaVu Sans,
# next in invoice.css's font-family list; without the font files the documents use DejaVu Sans
# through fontconfig as before.
DOCUMENT_FONT_FAMILY = "DejaVu Sans Latin"
DOCUMENT_FONT_FILES = {
    "normal": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "bold": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
}
DOCUMENT_FONT_UNICODES = (
    "U+0020-007E,U+00A0-024F,U+0300-036F,U+2000-206F,U+20A0-20CF,U+2100-2122,U+2190-2193,U+2212"
)


def _latin_subset(path: Path) -> bytes:
    from fontTools import subset

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # it logs every table at INFO
    options = subset.Options()
    options.hinting = False  # WeasyPrint drops hinting from embedded fonts anyway
    options.drop_tables = [*options.drop_tables, "FFTM"]
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=subset.parse_unicodes(DOCUMENT_FONT_UNICODES))
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    return buffer.getvalue()


@cache
def _font_stylesheet():
    """@font-face rules of the documents' font, or None when its files are missing."""
    from weasyprint import CSS

    rules = []
    for weight, path in DOCUMENT_FONT_FILES.items():
        try:
            data = base64.b64encode(_latin_subset(path)).decode()
        except Exception:
            logger.warning("documents: cannot load %s; PDFs use DejaVu Sans as a whole", path)
            return None
        rules.append(
            f'@font-face {{ font-family: "{DOCUMENT_FONT_FAMILY}"; font-weight: {weight}; '
            f"src: url(data:font/ttf;base64,{data}); }}"
        )
    return CSS(string="\n".join(rules), font_config=_font_config())


@cache
def _font_config():
    """One fontconfig configuration per process. WeasyPrint builds a new one per document when
    none is given; that costs milliseconds and leaks ~200 KB of fontconfig memory per render."""
    from weasyprint.text.fonts import FontConfiguration

    # Dropped before interpreter shutdown, while its __del__ can still remove its temporary
    # @font-face files.
    atexit.register(_font_config.cache_clear)
    return FontConfiguration()


@lru_cache(maxsize=64)
def _stylesheet(color: str = DEFAULT_BRAND_COLOR):
    """The parsed stylesheet for one brand colour. The colour is written into the CSS rather
    than read from a ``var(--brand)`` custom property, which WeasyPrint resolves again in
    every box that uses it."""
    from weasyprint import CSS

    if not BRAND_COLOR_RE.fullmatch(color):
        color = DEFAULT_BRAND_COLOR
    css = render_to_string("documents/invoice.css", {"brand": color})
    return CSS(string=css, font_config=_font_config())


UA_STYLESHEET_PATH = Path(__file__).parent / "templates" / "documents" / "ua.css"


@cache
def _user_agent_stylesheet():
    """The user-agent stylesheet of the documents (ua.css), parsed once per process."""
    from weasyprint import CSS
    from weasyprint.html import UA_COUNTER_STYLE

    return CSS(string=UA_STYLESHEET_PATH.read_text("utf-8"), counter_style=UA_COUNTER_STYLE)


@cache
def _document_html_class():
    """``weasyprint.HTML`` with ua.css as its user-agent stylesheet.

    WeasyPrint's HTML5 stylesheet gives every element six pseudo-elements (::marker,
    ::footnote-*, ::note-*) whose styles are computed on every render, and matches ~250
    rules for elements and forms a document never has: several per cent of a render.
    WeasyPrint has no option for it; ``_ua_stylesheets`` is the hook its own test suite
    overrides for "a lighter UA stylesheet" (our tests check that it is still called)."""
    from weasyprint import HTML

    class DocumentHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [_user_agent_stylesheet()]

    return DocumentHTML


@cache
def _url_fetcher():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def _stylesheets(color: str) -> list:
    fonts = _font_stylesheet()
    return [fonts, _stylesheet(color)] if fonts is not None else [_stylesheet(color)]


def html_to_pdf(html: str, color: str = DEFAULT_BRAND_COLOR) -> tuple[bytes, int]:
    """PDF bytes and page count. Only ``data:`` URLs may be fetched (no network, no files)."""
    document = _document_html_class()(
        string=html, url_fetcher=_url_fetcher(), base_url=None
    ).render(stylesheets=_stylesheets(color), font_config=_font_config())
    return document.write_pdf(), len(document.pages)


WARM_UP_HTML = '<html><body><p>Cobro <b>$12.990</b> · <a href="data:,">1</a></p></body></html>'


def prepare_worker_process() -> None:
    """Warm a worker process up for rendering, then freeze its heap for the cyclic GC.

    Run once per worker process (Celery's ``worker_process_init``; the render benchmark does
    the same). The first render loads fontconfig, the fonts and the stylesheet. A render
    leaves cyclic garbage behind, so the collector runs a full (generation 2) collection
    every few dozen renders, and a full collection traverses the whole heap (Django, the
    apps, WeasyPrint: ~160k objects, ~120 ms): that was the p99 render time. ``gc.freeze()``
    moves what exists after warm-up to the permanent generation, which collections skip
    (a full collection then takes ~25 ms)."""
    try:
        html_to_pdf(WARM_UP_HTML)
    except Exception:  # a broken WeasyPrint must not stop the worker's other queues
        logger.exception("documents: warm-up render failed")
    gc.collect()
    gc.freeze()


def _footer(context: dict) -> str:
    doc = context["doc"]
    return f"{context['brand']['legal_name']} · {doc['title']} {doc['number']}"


def invoice_pdf(invoice, *, language: str | None = None) -> tuple[bytes, int]:
    language = language or document_language(invoice.customer)
    with translation.override(language):
        context = invoice_context(invoice, language=language)
        context["footer"] = _footer(context)
        html = render_to_string("documents/invoice.html", context)
    return html_to_pdf(html, context["brand"]["brand_color"])


def credit_note_pdf(credit_note, *, language: str | None = None) -> tuple[bytes, int]:
    language = language or document_language(credit_note.customer)
    with translation.override(language):
        context = credit_note_context(credit_note, language=language)
        context["footer"] = _footer(context)
        html = render_to_string("documents/invoice.html", context)
    return html_to_pdf(html, context["brand"]["brand_color"])
