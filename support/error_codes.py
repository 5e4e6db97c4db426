"""Error codes of the support app: one Enum, one ``SupportError`` with a code and a message.
Services raise before writing anything (or inside their transaction)."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class SupportErrorCode(StrEnum):
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long"
    INVALID_TOPIC = "invalid_topic"
    INVALID_LINK = "invalid_link"
    INVALID_TRANSITION = "invalid_transition"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    ATTACHMENT_TYPE = "attachment_type"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    ASSIGNEE_NOT_MEMBER = "assignee_not_member"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    REASON_REQUIRED = "reason_required"
    TOO_MANY_CONVERSATIONS = "too_many_conversations"


MESSAGES = {
    SupportErrorCode.EMPTY_MESSAGE: _("Write a message."),
    SupportErrorCode.MESSAGE_TOO_LONG: _("The message is too long (at most %(limit)s characters)."),
    SupportErrorCode.INVALID_TOPIC: _("Choose a topic."),
    SupportErrorCode.INVALID_LINK: _("That invoice or subscription is not yours."),
    SupportErrorCode.INVALID_TRANSITION: _("The conversation cannot change to that status."),
    SupportErrorCode.ATTACHMENT_TOO_LARGE: _(
        "“%(name)s” is too large (at most %(limit)s MB per file)."
    ),
    SupportErrorCode.ATTACHMENT_TYPE: _(
        "“%(name)s” is not an image (PNG, JPEG, GIF, WebP) or a PDF."
    ),
    SupportErrorCode.TOO_MANY_ATTACHMENTS: _("At most %(limit)s files per message."),
    SupportErrorCode.ASSIGNEE_NOT_MEMBER: _("The assignee must be a member of this organization."),
    SupportErrorCode.AMOUNT_NOT_POSITIVE: _("Enter an amount greater than zero."),
    SupportErrorCode.REASON_REQUIRED: _("A reason is required."),
    SupportErrorCode.TOO_MANY_CONVERSATIONS: _(
        "You have opened %(limit)s conversations in the last hour. Please write in one of them "
        "or try again later."
    ),
}


class SupportError(Exception):
    def __init__(self, code: SupportErrorCode, **params):
        self.code = code
        self.params = params
        message = MESSAGES[code]
        self.message = str(message) % params if params else str(message)
        super().__init__(self.message)
