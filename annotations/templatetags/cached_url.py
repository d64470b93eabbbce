"""``{% url %}`` with each reversed URL remembered (a builtin: it stands in for Django's tag).

``reverse()`` walks the URL resolver each time: about 40 µs, and the annotate page asks
for some twenty-five URLs, most of them the same few with the article's id, so a millisecond
of every page went to working out the same strings again. What a URL is depends on the view's
name, its arguments, the script prefix and the URL configuration, which don't change while a
process runs (a test that overrides ROOT_URLCONF or FORCE_SCRIPT_NAME empties the cache); the
patterns are not translated, so the language doesn't enter. Only ids and strings as arguments
are remembered; anything else is reversed each time, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

_LIMIT = 10_000
_reversed: dict[tuple[Any, ...], str] = {}


def reverse_remembered(
    view_name: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None, current_app: str | None = None
) -> str:
    """``reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)``, remembered."""
    kwargs = kwargs or {}
    if not all(type(value) in (int, str) for value in (*args, *kwargs.values())):
        return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
    key = (view_name, tuple(args), tuple(sorted(kwargs.items())), current_app, get_script_prefix(), get_urlconf())
    url = _reversed.get(key)
    if url is None:
        url = reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)  # NoReverseMatch: not kept
        if len(_reversed) >= _LIMIT:
            _reversed.clear()
        _reversed[key] = url
    return url


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        _reversed.clear()


class RememberedURLNode(URLNode):
    """Django's URLNode, reversing through ``reverse_remembered``."""

    def render(self, context: Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None and not hasattr(request, "current_app"):
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        url = ""
        try:
            url = reverse_remembered(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> RememberedURLNode:
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
