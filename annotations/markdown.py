"""Markdown for the annotation guidelines, rendered so that nothing in it can act.

CommonMark through markdown-it-py with raw HTML off (a ``<script>`` in the text is
shown as text), no images (nothing loads from elsewhere), and links only to
http, https, mailto or a relative address: any other scheme (``javascript:``,
``data:``, ``vbscript:``…) leaves the link as plain text.
"""

from __future__ import annotations

import re

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# Browsers drop these from a URL before reading its scheme ("java\tscript:").
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]+")


def is_safe_link(url: str) -> bool:
    """True for an http(s) or mailto address, or one without a scheme (relative)."""
    bare = _IGNORED_IN_URLS.sub("", url).lower()
    scheme = _SCHEME.match(bare)
    if scheme is None:
        # A colon before any "/", "?" or "#" would be read as a scheme by someone.
        return ":" not in re.split(r"[/?#]", bare, maxsplit=1)[0]
    return scheme.group(1) in SAFE_SCHEMES


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = is_safe_link  # type: ignore[method-assign]  # markdown-it's documented hook
    return md


_MARKDOWN = _parser()


def render_markdown(text: str) -> SafeString:
    """``text`` as HTML in which every character of the input is escaped or Markdown syntax."""
    html = _MARKDOWN.render(text)
    # markdown-it escapes & < > " but not ', which is harmless in text and in its
    # double-quoted attributes; escaped too, so no input survives as raw markup anywhere.
    return mark_safe(html.replace("'", "&#x27;"))  # noqa: S308  # nosec B308, B703: escaped by markdown-it above
