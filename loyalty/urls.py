"""Staff dashboard URLs of this app (mounted by cobro/urls.py under the app namespace)."""

from django.urls import path  # noqa: F401

app_name = "loyalty"

urlpatterns: list = []
