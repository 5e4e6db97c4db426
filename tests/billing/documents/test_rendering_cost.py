"""What keeps an invoice render cheap (issue 5) without changing how the invoice looks."""

from __future__ import annotations

import gc
import io
import re
from pathlib import Path

import pytest
import tinyhtml5
from django.template.loader import render_to_string
from django.utils import translation
from pypdf import PdfReader

from billing.documents import rendering
from tests.billing.documents.conftest import long_invoice

UA_CSS = re.sub(r"/\*.*?\*/", "", Path(rendering.UA_STYLESHEET_PATH).read_text("utf-8"), flags=re.S)
# Inline elements need no rule of their own in ua.css.
INLINE_TAGS = {"span", "a", "img", "b", "strong", "em", "i", "small"}


def test_renders_use_the_documents_user_agent_stylesheet(monkeypatch):
    html_class = rendering._document_html_class()
    original = html_class._ua_stylesheets
    calls = []

    def spy(self, forms=False):
        calls.append(forms)
        return original(self, forms)

    # WeasyPrint still asks the hook (an upgrade renaming it would silently undo ua.css).
    monkeypatch.setattr(html_class, "_ua_stylesheets", spy)
    pdf, pages = rendering.html_to_pdf("<p>Hola</p>")
    assert calls and pages == 1 and pdf.startswith(b"%PDF-")
    assert original(None) == [rendering._user_agent_stylesheet()]


@pytest.mark.django_db
def test_every_block_element_of_the_invoice_template_has_a_rule_in_ua_css(subscription_invoice):
    subscription_invoice.memo = "Gracias"
    with translation.override("es-419"):
        context = rendering.invoice_context(subscription_invoice)
        context["footer"] = rendering._footer(context)
        html = render_to_string("documents/invoice.html", context)
    tags = {el.tag for el in tinyhtml5.parse(html, namespace_html_elements=False).iter()}
    selectors = set(re.findall(r"(?<![-.\w:#])([a-z][a-z0-9]*)\b(?=[^{}]*\{)", UA_CSS))
    missing = {tag for tag in tags if isinstance(tag, str)} - INLINE_TAGS - selectors
    assert not missing, f"add rules for {missing} to documents/ua.css"


@pytest.mark.django_db
def test_invoice_text_uses_the_latin_subset_font_and_falls_back_for_other_scripts(
    subscription_invoice, cl_customer
):
    cl_customer.name = "Иван Петров Ltda."
    cl_customer.save()
    pdf, _ = rendering.invoice_pdf(subscription_invoice)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    fonts = {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+DejaVu-Sans-Latin") for name in fonts)
    assert any(name.endswith("+DejaVu-Sans-Latin-Bold") for name in fonts)
    # Cyrillic is outside the subset: whole DejaVu Sans draws it, the text is all there.
    assert any("DejaVu-Sans" in name and "Latin" not in name for name in fonts)
    assert "Иван Петров Ltda." in page.extract_text()


def test_worker_process_is_warmed_up_and_its_heap_frozen():
    from celery.signals import worker_process_init

    gc.unfreeze()
    try:
        worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.django_db
def test_page_footer_comes_from_the_document_on_every_page(in_org, cl_customer, iva, t0):
    invoice = long_invoice(cl_customer, iva, lines=80, now=t0)
    pdf, pages = rendering.invoice_pdf(invoice)
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert pages == len(texts) > 1
    for number, text in enumerate(texts, start=1):
        assert f"Acme Servicios Digitales SpA · Factura {invoice.number}" in text
        assert f"Página {number} de {pages}" in text
