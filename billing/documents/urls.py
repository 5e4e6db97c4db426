"""PDFs of issued documents for staff (mounted by cobro/urls.py at ``documents/``)."""

from django.urls import path

from billing.documents import views

app_name = "documents"

urlpatterns = [
    path("invoices/<int:pk>.pdf", views.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("credit-notes/<int:pk>.pdf", views.CreditNotePdfView.as_view(), name="credit_note_pdf"),
]
