"""Staff dashboard URLs of this app (mounted by cobro/urls.py under /billing/)."""

from django.urls import path

from billing.views import (
    billing_runs,
    bulk,
    catalog,
    exports,
    invoices,
    simulator,
    subscriptions,
    test_clock,
)

app_name = "billing"

urlpatterns = [
    # Catalog
    path("catalog/", catalog.CatalogHomeView.as_view(), name="catalog"),
    path("catalog/products/", catalog.ProductListView.as_view(), name="product_list"),
    path("catalog/products/new/", catalog.ProductCreateView.as_view(), name="product_create"),
    path("catalog/products/<int:pk>/", catalog.ProductDetailView.as_view(), name="product_detail"),
    path(
        "catalog/products/<int:pk>/edit/",
        catalog.ProductUpdateView.as_view(),
        name="product_update",
    ),
    path(
        "catalog/products/<int:pk>/prices/new/",
        catalog.PriceCreateView.as_view(),
        name="price_create",
    ),
    path("catalog/prices/<int:pk>/edit/", catalog.PriceUpdateView.as_view(), name="price_update"),
    path(
        "catalog/prices/<int:pk>/archive/",
        catalog.PriceArchiveView.as_view(),
        name="price_archive",
    ),
    path("catalog/taxes/", catalog.TaxRateListView.as_view(), name="tax_list"),
    path(
        "catalog/taxes/<int:pk>/deactivate/",
        catalog.TaxRateDeactivateView.as_view(),
        name="tax_deactivate",
    ),
    path("catalog/coupons/", catalog.CouponListView.as_view(), name="coupon_list"),
    path("catalog/coupons/new/", catalog.CouponCreateView.as_view(), name="coupon_create"),
    path(
        "catalog/coupons/<int:pk>/deactivate/",
        catalog.CouponDeactivateView.as_view(),
        name="coupon_deactivate",
    ),
    path("settings/", catalog.BillingSettingsView.as_view(), name="settings"),
    # Subscriptions
    path("subscriptions/", subscriptions.SubscriptionListView.as_view(), name="subscription_list"),
    path(
        "subscriptions/export.csv",
        exports.SubscriptionExportView.as_view(),
        name="subscription_export",
    ),
    path(
        "subscriptions/new/",
        subscriptions.SubscriptionCreateView.as_view(),
        name="subscription_create",
    ),
    path(
        "subscriptions/<int:pk>/",
        subscriptions.SubscriptionDetailView.as_view(),
        name="subscription_detail",
    ),
    path(
        "subscriptions/<int:pk>/pause/",
        subscriptions.SubscriptionPauseView.as_view(),
        name="subscription_pause",
    ),
    path(
        "subscriptions/<int:pk>/resume/",
        subscriptions.SubscriptionResumeView.as_view(),
        name="subscription_resume",
    ),
    path(
        "subscriptions/<int:pk>/cancel/",
        subscriptions.SubscriptionCancelView.as_view(),
        name="subscription_cancel",
    ),
    path(
        "subscriptions/<int:pk>/undo-cancel/",
        subscriptions.SubscriptionUndoCancelView.as_view(),
        name="subscription_undo_cancel",
    ),
    path(
        "subscriptions/<int:pk>/change/",
        subscriptions.SubscriptionChangeView.as_view(),
        name="subscription_change",
    ),
    path(
        "subscriptions/<int:pk>/upcoming/",
        subscriptions.SubscriptionPreviewInvoicesView.as_view(),
        name="subscription_preview_invoices",
    ),
    path(
        "subscriptions/<int:pk>/migrate/",
        subscriptions.SubscriptionMigrateView.as_view(),
        name="subscription_migrate",
    ),
    # Invoices
    path("invoices/", invoices.InvoiceListView.as_view(), name="invoice_list"),
    path("invoices/export.csv", exports.InvoiceExportView.as_view(), name="invoice_export"),
    path("invoices/bulk/", bulk.InvoiceBulkView.as_view(), name="invoice_bulk"),
    path("invoices/new/", invoices.OneOffInvoiceCreateView.as_view(), name="invoice_create"),
    path("invoices/<int:pk>/", invoices.InvoiceDetailView.as_view(), name="invoice_detail"),
    path(
        "invoices/<int:pk>/finalize/",
        invoices.InvoiceFinalizeView.as_view(),
        name="invoice_finalize",
    ),
    path("invoices/<int:pk>/void/", invoices.InvoiceVoidView.as_view(), name="invoice_void"),
    path(
        "invoices/<int:pk>/uncollectible/",
        invoices.InvoiceUncollectibleView.as_view(),
        name="invoice_uncollectible",
    ),
    path(
        "invoices/<int:pk>/mark-paid/",
        invoices.InvoiceMarkPaidView.as_view(),
        name="invoice_mark_paid",
    ),
    path(
        "invoices/<int:pk>/credit-note/",
        invoices.CreditNoteCreateView.as_view(),
        name="credit_note_create",
    ),
    # Plan simulator (read-only dry runs)
    path(
        "simulator/prices/<int:pk>/",
        simulator.PriceSimulatorView.as_view(),
        name="price_simulator",
    ),
    path(
        "subscriptions/<int:pk>/simulate/",
        simulator.SubscriptionSimulatorView.as_view(),
        name="subscription_simulator",
    ),
    # Billing runs started by staff (manual, test clock): confirmation, progress, resume
    path("runs/new/", billing_runs.BillingRunStartView.as_view(), name="billing_run_start"),
    path("runs/<int:pk>/", billing_runs.BillingRunDetailView.as_view(), name="billing_run_detail"),
    path(
        "runs/<int:pk>/resume/",
        billing_runs.BillingRunResumeView.as_view(),
        name="billing_run_resume",
    ),
    # Sandbox
    path("test-clock/", test_clock.TestClockView.as_view(), name="test_clock"),
]
