"""Outgoing webhooks (Standard Webhooks signatures) and the API's idempotency keys."""
