"""The one place that composes every app's URLs."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from cobro.views import dashboard

dashboard_patterns = (
    [
        path("", dashboard.HomeView.as_view(), name="home"),
    ],
    "dashboard",
)

urlpatterns = [
    path("healthz", dashboard.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include(dashboard_patterns)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

__all__ = ["i18n_patterns", "urlpatterns"]
