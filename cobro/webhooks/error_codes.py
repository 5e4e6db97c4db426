"""Stable error codes of outgoing webhooks."""

from enum import StrEnum


class WebhookErrorCode(StrEnum):
    URL_INVALID = "webhook_url_invalid"
    URL_REFUSED = "webhook_url_refused"
    EVENT_TYPE_INVALID = "webhook_event_type_invalid"
