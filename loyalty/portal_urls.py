"""Customer portal URLs of the loyalty app (mounted under /p/<org_slug>/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
