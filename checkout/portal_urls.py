"""Customer portal URLs of the checkout app (mounted under /p/<org_slug>/, namespace "portal")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
