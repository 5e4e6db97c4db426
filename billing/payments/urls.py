"""Staff pages of payments, mounted at ``/payments/`` (namespace ``payments``)."""

from django.urls import path

from billing.payments.views import dashboard as views
from billing.payments.views import exports

app_name = "payments"

urlpatterns = [
    path("", views.PaymentListView.as_view(), name="list"),
    path("export.csv", exports.PaymentExportView.as_view(), name="export"),
    path("<int:pk>/", views.PaymentDetailView.as_view(), name="detail"),
    path("<int:pk>/refund/", views.PaymentRefundView.as_view(), name="refund"),
    path("invoices/<int:pk>/mark-paid/", views.InvoiceMarkPaidView.as_view(), name="mark_paid"),
    path("statements/import/", views.StatementImportView.as_view(), name="statement_import"),
    path("statements/review/", views.StatementReviewView.as_view(), name="statement_review"),
    path(
        "statements/lines/<int:pk>/apply/",
        views.StatementLineApplyView.as_view(),
        name="statement_line_apply",
    ),
    path(
        "statements/lines/<int:pk>/dismiss/",
        views.StatementLineDismissView.as_view(),
        name="statement_line_dismiss",
    ),
    path(
        "customers/<int:pk>/methods/",
        views.CustomerMethodsView.as_view(),
        name="customer_methods",
    ),
    path("settings/dunning/", views.DunningSettingsView.as_view(), name="dunning_settings"),
    path("settings/gateways/", views.GatewaySettingsView.as_view(), name="gateway_settings"),
]
