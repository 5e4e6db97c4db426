"""Attachment checks: the type is decided by the content (magic bytes, then a full decode for
images), never by the file name or the browser's Content-Type. Allowed: PNG, JPEG, GIF, WebP
and PDF, at most ``MAX_BYTES`` each and ``MAX_FILES`` per message."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from support.error_codes import SupportError, SupportErrorCode

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 5

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
}


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content: bytes
    content_type: str


def sniff(content: bytes) -> str | None:
    """The content type told by the leading bytes, or None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    # A PDF starts with "%PDF-" (readers tolerate a little leading junk; we do not).
    if content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]:
        return "application/pdf"
    return None


def _image_decodes(content: bytes) -> bool:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as img:
            img.verify()
        return True
    except Exception:
        return False


_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def clean_filename(name: str, content_type: str) -> str:
    """A display name without paths or control characters, ending in the real type's
    extension (``invoice.pdf.exe`` that is a PNG becomes ``invoice.pdf.exe.png``)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._") or "file"
    ext = EXTENSIONS[content_type]
    stem = name
    if stem.lower().endswith("." + ext) or (ext == "jpg" and stem.lower().endswith(".jpeg")):
        stem = stem.rsplit(".", 1)[0]
    return f"{stem[:100]}.{ext}"


def attachment_check(*, filename: str, content: bytes) -> CheckedFile:
    """Accept the file or raise ``SupportError`` (too large, or not what it claims)."""
    display = (filename or "file")[:80]
    if len(content) > MAX_BYTES:
        raise SupportError(
            SupportErrorCode.ATTACHMENT_TOO_LARGE, name=display, limit=MAX_BYTES // (1024 * 1024)
        )
    content_type = sniff(content)
    if content_type is None or (content_type.startswith("image/") and not _image_decodes(content)):
        raise SupportError(SupportErrorCode.ATTACHMENT_TYPE, name=display)
    return CheckedFile(
        filename=clean_filename(filename, content_type), content=content, content_type=content_type
    )


def attachments_check(files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    if len(files) > MAX_FILES:
        raise SupportError(SupportErrorCode.TOO_MANY_ATTACHMENTS, limit=MAX_FILES)
    return [attachment_check(filename=name, content=content) for name, content in files]
