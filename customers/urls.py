"""Staff dashboard URLs of this app (mounted by cobro/urls.py under the app namespace)."""

from django.urls import path

from customers.portal.views import staff as portal_staff
from customers.views import dashboard

app_name = "customers"

urlpatterns = [
    path("", dashboard.CustomerListView.as_view(), name="list"),
    path("export.csv", dashboard.CustomerExportView.as_view(), name="export"),
    path("new/", dashboard.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", dashboard.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", dashboard.CustomerUpdateView.as_view(), name="update"),
    path("import/", dashboard.CustomerImportStartView.as_view(), name="import"),
    path("portal-settings/", portal_staff.PortalSettingsView.as_view(), name="portal_settings"),
    path("import/<int:pk>/", dashboard.CustomerImportDetailView.as_view(), name="import_detail"),
    path(
        "import/<int:pk>/confirm/",
        dashboard.CustomerImportConfirmView.as_view(),
        name="import_confirm",
    ),
    path(
        "import/<int:pk>/progress/",
        dashboard.CustomerImportProgressView.as_view(),
        name="import_progress",
    ),
]
