"""Customer portal URLs of the customers app (mounted under /p/<org_slug>/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
