"""Invoice and credit note PDFs: content a customer reads, pagination, language, branding."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from billing.documents import rendering
from billing.services.invoices import credit_note_issue
from tests.billing.documents.conftest import long_invoice

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_typical_invoice_is_one_page_in_spanish_with_chilean_totals(subscription_invoice):
    pdf, pages = rendering.invoice_pdf(subscription_invoice)
    assert pdf.startswith(b"%PDF-")
    assert pages == 1
    [text] = pdf_text(pdf)
    # Emisor, receptor, number and the Neto / IVA 19% / Total block (CLP without decimals).
    assert "Acme Servicios Digitales SpA" in text
    assert "RUT: 76.123.456-7" in text
    assert "Panadería Los Aromos Ltda." in text
    assert "RUT: 77.888.999-K" in text
    assert "FACTURA" in text
    assert "F-000001" in text
    assert "Neto" in text and "$25.980" in text
    assert "IVA 19%" in text and "$4.936" in text
    assert "Total" in text and "$30.916" in text
    assert "Pendiente de pago" in text
    assert "Página 1 de 1" in text
    assert "http://127.0.0.1:8000/p/acme/" in text.replace("\n", "")


def test_invoice_in_english_for_an_english_speaking_customer(subscription_invoice):
    customer = subscription_invoice.customer
    customer.locale = "en"
    customer.save()
    pdf, _ = rendering.invoice_pdf(subscription_invoice)
    [text] = pdf_text(pdf)
    assert "INVOICE" in text
    assert "Amount due" in text
    assert "Page 1 of 1" in text
    assert "CLP30,916" in text.replace(" ", "")


def test_transfer_instructions_use_the_invoice_number_as_reference(in_org, cl_customer, iva, t0):
    invoice = long_invoice(cl_customer, iva, lines=2, now=t0)  # sent for payment by transfer
    pdf, _ = rendering.invoice_pdf(invoice)
    [text] = pdf_text(pdf)
    assert "Cómo pagar" in text
    assert "transferencia" in text
    assert text.count(invoice.number) >= 2  # title box and the transfer reference


def test_long_invoice_breaks_pages_and_repeats_table_header(in_org, cl_customer, iva, t0):
    invoice = long_invoice(cl_customer, iva, lines=80, now=t0)
    pdf, pages = rendering.invoice_pdf(invoice)
    texts = pdf_text(pdf)
    assert pages == len(texts) > 1
    assert "DETALLE" in texts[1] and "MONTO" in texts[1]  # the header repeats on page 2
    for page_text in texts:
        if "visita" in page_text:  # every page with lines starts with the header
            assert page_text.index("DETALLE") < page_text.index("visita")
    assert "visita 80" in "".join(texts[-2:])
    assert f"Página {pages} de {pages}" in texts[-1]
    assert "Total" in texts[-1]


def test_missing_or_oversized_logo_falls_back_to_the_name(subscription_invoice, branded_org):
    branded_org.logo.save("missing.png", ContentFile(b""), save=True)
    branded_org.logo.storage.delete(branded_org.logo.name)
    assert rendering.logo_data_uri(branded_org) == ""
    pdf, pages = rendering.invoice_pdf(subscription_invoice)
    assert pages == 1 and "Acme SpA" in pdf_text(pdf)[0]

    branded_org.logo.save("huge.png", ContentFile(b"\x89PNG" + b"0" * (2 * 1024 * 1024)))
    assert rendering.logo_data_uri(branded_org) == ""
    pdf, _ = rendering.invoice_pdf(subscription_invoice)
    assert "Acme SpA" in pdf_text(pdf)[0]


def test_a_real_logo_is_embedded(subscription_invoice, branded_org):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (240, 60), "#0f766e").save(buf, "PNG")
    branded_org.logo.save("logo.png", ContentFile(buf.getvalue()), save=True)
    assert rendering.logo_data_uri(branded_org).startswith("data:image/png;base64,")
    pdf, _ = rendering.invoice_pdf(subscription_invoice)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages[0].images) == 1
    branded_org.logo.delete(save=True)


def test_credit_note_pdf_refers_to_its_invoice(subscription_invoice):
    note = credit_note_issue(invoice=subscription_invoice, reason="Servicio no prestado")
    pdf, _ = rendering.credit_note_pdf(note)
    [text] = pdf_text(pdf)
    assert "NOTA DE CRÉDITO" in text
    assert note.number in text
    assert "Corrige la factura" in text and subscription_invoice.number in text
    assert "$30.916" in text  # the whole invoice, IVA included
    assert "Servicio no prestado" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_invoice_png_artifact_for_a_person_to_look_at(
    subscription_invoice, in_org, cl_customer, iva, t0
):
    ARTIFACTS.mkdir(exist_ok=True)
    pdf, _ = rendering.invoice_pdf(subscription_invoice)
    (ARTIFACTS / "invoice.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-singlefile",
            str(ARTIFACTS / "invoice.pdf"),
            str(ARTIFACTS / "invoice"),
        ],
        check=True,
    )
    long_pdf, _ = rendering.invoice_pdf(long_invoice(cl_customer, iva, lines=80, now=t0))
    (ARTIFACTS / "invoice-long.pdf").write_bytes(long_pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "2",
            "-l",
            "2",
            "-singlefile",
            str(ARTIFACTS / "invoice-long.pdf"),
            str(ARTIFACTS / "invoice-long-page2"),
        ],
        check=True,
    )
    png = (ARTIFACTS / "invoice.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
