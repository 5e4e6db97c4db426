"""Routes of the billing API (composed into /api/v1/ by cobro/api/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import payments, views

router = SimpleRouter(trailing_slash=False)
router.register("tax_rates", views.TaxRateViewSet, basename="tax_rate")
router.register("products", views.ProductViewSet, basename="product")
router.register("prices", views.PriceViewSet, basename="price")
router.register("coupons", views.CouponViewSet, basename="coupon")
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit_notes", views.CreditNoteViewSet, basename="credit_note")
router.register("payment_methods", payments.PaymentMethodViewSet, basename="payment_method")
router.register("payments", payments.PaymentViewSet, basename="payment")
router.register("refunds", payments.RefundViewSet, basename="refund")

urlpatterns = [
    path("test_clock", views.TestClockView.as_view(), name="test_clock"),
    path("test_clock/advance", views.TestClockAdvanceView.as_view(), name="test_clock_advance"),
    *router.urls,
]
