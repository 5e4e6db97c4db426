"""Turn a template key + language + context into subject, HTML and text.

Defaults live in ``messaging/defaults/<es|en>/<key>.txt``: the first line is the subject, the
rest is the body (an HTML fragment). An organization's ``TemplateOverride`` replaces both.
Subjects and bodies are compiled by a sandboxed engine: only Django's built-in tags and
filters, no template loaders (so no ``{% include %}`` / ``{% extends %}`` of our files), and
the context holds plain strings only, so an override cannot reach model objects.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import get_template, render_to_string
from django.utils import translation


class TemplateSourceError(ValueError):
    """Invalid template text; the message names the line."""


_engine = Engine(debug=True, loaders=[], libraries={}, autoescape=True)


def compile_user_template(source: str):
    try:
        return _engine.from_string(source)
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        line = info.get("line")
        if line:
            raise TemplateSourceError(
                translation.gettext("Line %(line)s: %(error)s") % {"line": line, "error": exc}
            ) from None
        raise TemplateSourceError(str(exc)) from None


def template_language(language: str) -> str:
    return "en" if (language or "").lower().startswith("en") else "es"


@lru_cache(maxsize=256)
def default_source(template_key: str, language: str) -> tuple[str, str]:
    """(subject, body) of the built-in template."""
    name = f"messaging/defaults/{template_language(language)}/{template_key}.txt"
    source = get_template(name).template.source  # type: ignore[attr-defined]
    subject, _, body = source.partition("\n")
    return subject.strip(), body.strip() + "\n"


def source_for(*, organization, template_key: str, language: str) -> tuple[str, str, bool]:
    """(subject, body, is_override) for the organization."""
    from customers.messaging.models import TemplateOverride

    override = TemplateOverride.unscoped.filter(
        organization=organization, template_key=template_key, language=_override_lang(language)
    ).first()
    if override is not None:
        return override.subject, override.body, True
    subject, body = default_source(template_key, language)
    return subject, body, False


def _override_lang(language: str) -> str:
    return "en" if template_language(language) == "en" else "es-419"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table|ul|ol)>|<br\s*/?>", re.IGNORECASE)
_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(fragment: str) -> str:
    """A readable plain-text alternative of an HTML fragment (links keep their URL)."""
    text = _LINK.sub(
        lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) != m.group(1) else m.group(1),
        fragment,
    )
    text = re.sub(r"<li[^>]*>", "- ", text, flags=re.IGNORECASE)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [ln.strip() for ln in text.splitlines()]
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    return "\n".join(out).strip() + "\n"


def render_message(
    *,
    subject_source: str,
    body_source: str,
    context: dict,
    layout: dict,
    language: str,
) -> Rendered:
    """Render a subject and body and wrap the body in the branded layout.

    ``layout`` carries brand, footer and unsubscribe URL for ``messaging/email/layout.html``.
    """
    with translation.override(language):
        subject = compile_user_template(subject_source).render(Context(context, autoescape=False))
        subject = " ".join(subject.split())
        body_html = compile_user_template(body_source).render(Context(context))
        full_html = render_to_string(
            "messaging/email/layout.html", {**layout, "body": body_html, "subject": subject}
        )
        text = html_to_text(body_html)
        footer = render_to_string("messaging/email/footer.txt", layout).strip()
    return Rendered(subject=subject, html=full_html, text=f"{text}\n-- \n{footer}\n")
