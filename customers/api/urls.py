"""Routes of the customers API (composed into /api/v1/ by cobro/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from customers.api.views import CustomerViewSet

router = SimpleRouter(trailing_slash=False)
router.register("customers", CustomerViewSet, basename="customer")

urlpatterns = router.urls
