"""Serving an attachment: only through the support views (which checked who asks), as a
download with its checked type, never sniffed, sandboxed, and never cached by proxies."""

from __future__ import annotations

from django.http import FileResponse, Http404

from support.models import Attachment


def attachment_response(attachment: Attachment) -> FileResponse:
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    inline = attachment.content_type.startswith("image/")
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
