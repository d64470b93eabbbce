"""Form widgets written out in Python where Django's own widget templates would render them.

Django renders each widget through its template engine: the input's template, then
its attributes by ``include``, and a select one more template per option. That is
about 0.15 ms an input and 2.7 ms for the stance row's select of targets, 8.5 ms
of the annotate page's 35. ``FastWidgetRenderer`` writes the same markup for the
plain inputs, textareas and selects, a radio button's or checkbox's tag, and a
field's empty error list (Django's templates, byte for byte, with the
template language's escaping: ``tests/test_renderers.py`` renders every kind both
ways and compares, hostile strings included). Any other template, a value the
templates would localise (a number or a date where a string is usual), or one of
these templates overridden by an installed app, goes through the engine as before.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.functional import Promise, cached_property
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
INPUTS = {WIDGETS + name for name in ("input.html", "hidden.html", "text.html", "number.html")}
TEXTAREA = WIDGETS + "textarea.html"
SELECT = WIDGETS + "select.html"
OPTION = WIDGETS + "select_option.html"
# One radio button or checkbox of a set, as ``{{ radio.tag }}`` renders it, with or without its label.
INPUT_OPTIONS = {WIDGETS + name for name in ("radio_option.html", "checkbox_option.html", "input_option.html")}
# A field's error list: nothing at all when there are no errors, as on every field of a fresh form.
ERROR_LISTS = {"django/forms/errors/list/default.html", "django/forms/errors/list/ul.html"}
# The templates whose output is written here; each must be Django's own (``_django_own``).
WRITTEN = {*INPUTS, TEXTAREA, SELECT, OPTION, *INPUT_OPTIONS, *ERROR_LISTS, WIDGETS + "attrs.html"}

# The context a template renders a value in: autoescaping on, times and numbers as settings say.
_CONTEXT = Context(autoescape=True)


class Unwritten(Exception):
    """A value the templates would format in a way not written here: use the engine."""


def _text(value: Any) -> str:
    """``{{ value }}``: strings (and lazy translations) escaped unless marked safe."""
    if isinstance(value, str | Promise):
        return render_value_in_context(value, _CONTEXT)
    raise Unwritten


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: ``%s`` of anything, escaped unless the value was safe."""
    result = stringformat(value, "s")
    return result if isinstance(value, SafeData) else render_value_in_context(result, _CONTEXT)


def _attrs(attrs: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    if "items" in attrs:  # the template would read attrs.items as that key
        raise Unwritten
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"')
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    value = f' value="{_formatted(widget["value"])}"' if widget["value"] is not None else ""
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _input_option(widget: dict[str, Any]) -> str:
    html = _input(widget)
    if not widget["wrap_label"]:
        return html
    label_for = f' for="{_text(widget["attrs"]["id"])}"' if widget["attrs"].get("id") else ""
    # The input's template is included here, so its file's last newline stays before the label.
    return f"<label{label_for}>{html}\n {_text(widget['label'])}</label>"


def _textarea(widget: dict[str, Any]) -> str:
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def _select(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION:
                raise Unwritten
            # An included template keeps its file's last newline; only the outermost is stripped.
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class FastWidgetRenderer(DjangoTemplates):
    """Django's default renderer, with the plain widgets written out (see the module)."""

    @cached_property
    def _writers(self) -> dict[str, Any]:
        writers = {name: _input for name in INPUTS} | {name: _input_option for name in INPUT_OPTIONS}
        writers |= {TEXTAREA: _textarea, SELECT: _select}
        if not all(self._django_own(name) for name in WRITTEN):
            return {}  # an app restyles the widgets: its templates are what renders them
        return writers

    def _django_own(self, template_name: str) -> bool:
        origin = self.get_template(template_name).origin.name
        return origin.replace("\\", "/").endswith("/django/forms/templates/" + template_name)

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name in ERROR_LISTS and self._writers and request is None and not context.get("errors"):
            return ""
        writer = self._writers.get(template_name)
        if writer is not None and request is None and set(context) == {"widget"}:
            try:
                return writer(context["widget"])
            except (Unwritten, KeyError):
                pass
        return super().render(template_name, context, request=request)
