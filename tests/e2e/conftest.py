"""Real-browser tests. The fixtures (``browser``, ``page``, ``screenshot``) live in
tests/conftest.py so that one Playwright instance serves every browser test of a worker,
wherever the test file is."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
