"""Customer portal URLs of the billing app (mounted under /p/<org_slug>/, namespace
"portal")."""

from django.urls import path

from billing.views import portal as v

urlpatterns: list = [
    path("", v.OverviewView.as_view(), name="home"),
    path("invoices/", v.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<int:pk>/", v.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", v.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("invoices/<int:pk>/pay/", v.InvoicePayView.as_view(), name="invoice_pay"),
    path("payment-methods/", v.PaymentMethodListView.as_view(), name="payment_methods"),
    path("payment-methods/add/", v.PaymentMethodAddView.as_view(), name="payment_method_add"),
    path(
        "payment-methods/<int:pk>/default/",
        v.PaymentMethodDefaultView.as_view(),
        name="payment_method_default",
    ),
    path(
        "payment-methods/<int:pk>/remove/",
        v.PaymentMethodRemoveView.as_view(),
        name="payment_method_remove",
    ),
    path("subscriptions/<int:pk>/", v.SubscriptionDetailView.as_view(), name="subscription_detail"),
    path(
        "subscriptions/<int:pk>/change/",
        v.SubscriptionChangeView.as_view(),
        name="subscription_change",
    ),
    path(
        "subscriptions/<int:pk>/pause/",
        v.SubscriptionPauseView.as_view(),
        name="subscription_pause",
    ),
    path(
        "subscriptions/<int:pk>/resume/",
        v.SubscriptionResumeView.as_view(),
        name="subscription_resume",
    ),
    path(
        "subscriptions/<int:pk>/cancel/",
        v.SubscriptionCancelView.as_view(),
        name="subscription_cancel",
    ),
    path(
        "subscriptions/<int:pk>/retention-offer/",
        v.SubscriptionRetentionOfferView.as_view(),
        name="subscription_retention_offer",
    ),
    path(
        "subscriptions/<int:pk>/undo-cancel/",
        v.SubscriptionUndoCancelView.as_view(),
        name="subscription_undo_cancel",
    ),
]
