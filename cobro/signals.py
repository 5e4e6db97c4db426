"""Kernel signal receivers (kept here so apps.ready() imports one module)."""
