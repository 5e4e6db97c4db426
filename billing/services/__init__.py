"""Billing services (keyword-only ``<entity>_<verb>`` functions). Import from the modules."""
