"""The widgets written out in Python (annotations/renderers.py) are Django's templates' markup, byte for byte."""

from __future__ import annotations

import itertools

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from annotations.forms import QuoteForm, StanceFormSet
from annotations.models import Quote
from annotations.renderers import FastWidgetRenderer

from .factories import ArticleFactory, StanceLabelFactory, TargetFactory

HOSTILE = "\"><script>alert(1)</script>&amp; 'x' <b>"
VALUES = [None, "", "plain", HOSTILE, mark_safe("<i>safe</i>"), 0, 42, 3.5, True, False, gettext_lazy("Speaker")]
ATTRS = [
    {},
    {"id": "id_x", "class": "a b", "required": True, "disabled": False},
    {"data-x": HOSTILE, "aria-label": mark_safe("<safe>"), "maxlength": 40, "step": 0.5, "hx-get": "/x/?a=1&b=2"},
]
CHOICES = [
    ("", "---------"),
    ("1", "One"),
    (2, HOSTILE),
    ("group <g>", [("3", "Three"), ("4", mark_safe("<b>Four</b>"))]),
    (5, 5),  # a number as the label: the engine localises it
    ("6", gettext_lazy("Support")),
]

fast, engine = FastWidgetRenderer(), DjangoTemplates()


def both(widget: forms.Widget, value, attrs) -> tuple[str, str]:
    return (
        widget.render("field<name>", value, attrs=dict(attrs), renderer=fast),
        widget.render("field<name>", value, attrs=dict(attrs), renderer=engine),
    )


@pytest.mark.parametrize(
    "widget",
    [forms.TextInput(), forms.HiddenInput(), forms.NumberInput(), forms.Textarea(), forms.EmailInput()],
    ids=lambda widget: type(widget).__name__,
)
@pytest.mark.parametrize(("value", "attrs"), list(itertools.product(VALUES, ATTRS)))
def test_an_input_is_the_templates_markup(widget, value, attrs):
    written, rendered = both(widget, value, attrs)
    assert written == rendered


@pytest.mark.parametrize("value", [None, "", "1", 2, "3", ["4"], "6", HOSTILE])
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("choices", [CHOICES, CHOICES[:3], []], ids=["groups", "flat", "none"])
def test_a_select_is_the_templates_markup(value, attrs, choices):
    written, rendered = both(forms.Select(choices=choices), value, attrs)
    assert written == rendered


@pytest.mark.parametrize("wrap_label", [False, True])
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("widget_class", [forms.RadioSelect, forms.CheckboxSelectMultiple])
def test_a_radio_or_checkbox_tag_is_the_templates_markup(widget_class, attrs, wrap_label):
    # As a page draws them one by one: {% for radio in form.kind %}{{ radio.tag }}…
    class Choice(forms.Form):
        field = forms.ChoiceField(choices=CHOICES[:3] + CHOICES[5:], widget=widget_class(attrs=dict(attrs)))

    form = Choice({"field": "2"})
    for radio in form["field"]:
        radio.renderer = fast
        written = radio.tag(wrap_label=wrap_label)
        radio.renderer = engine
        assert written == radio.tag(wrap_label=wrap_label)


@pytest.mark.parametrize("data", [{}, {"name": ""}, {"name": HOSTILE}, {"name": "x" * 50}])
def test_a_fields_error_list_is_the_templates_markup(data):
    class Named(forms.Form):
        name = forms.CharField(max_length=20)

        def clean(self):
            raise forms.ValidationError(HOSTILE)

    form = Named(data or None)
    form.is_valid()
    for errors in (form["name"].errors, form.non_field_errors()):
        assert errors.render(renderer=fast) == errors.render(renderer=engine)
    assert Named()["name"].errors.render(renderer=fast) == ""


def test_an_attribute_named_items_fails_as_the_template_does():
    # The template reads attrs.items as that key and can't unpack it: the engine's error, not other markup.
    attrs = {"items": "not the dict's items"}
    for renderer in (fast, engine):
        with pytest.raises(ValueError, match="Need 2 values to unpack"):
            forms.TextInput().render("q", "", attrs=attrs, renderer=renderer)


@pytest.mark.parametrize(
    "widget",
    [forms.RadioSelect(choices=CHOICES[:3]), forms.CheckboxInput(), forms.SelectMultiple(choices=CHOICES[:3])],
    ids=lambda widget: type(widget).__name__,
)
def test_other_widgets_go_through_the_engine_unchanged(widget):
    written, rendered = both(widget, "1", ATTRS[2])
    assert written == rendered


def test_the_plain_widgets_are_written_not_rendered(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the template engine was asked")

    renderer = FastWidgetRenderer()
    assert renderer._writers  # Django's own templates are installed
    monkeypatch.setattr(DjangoTemplates, "render", refuse)
    assert renderer.render(
        "django/forms/widgets/text.html", forms.TextInput().get_context("q", HOSTILE, {"id": "q"})
    ).startswith('<input type="text" name="q" value="&quot;&gt;&lt;script&gt;')
    with pytest.raises(AssertionError, match="engine was asked"):
        renderer.render("django/forms/widgets/radio.html", forms.RadioSelect().get_context("q", "", {}))


def test_an_app_that_overrides_a_widget_template_keeps_it(monkeypatch):
    renderer = FastWidgetRenderer()
    template = renderer.get_template("django/forms/widgets/input.html")
    monkeypatch.setattr(template.origin, "name", "/srv/someapp/templates/django/forms/widgets/input.html")
    monkeypatch.setattr(renderer, "get_template", lambda name: template)
    assert renderer._writers == {}


def test_the_settings_use_it():
    assert isinstance(get_default_renderer(), FastWidgetRenderer)


@pytest.mark.django_db
def test_the_annotate_pages_forms_are_the_same_either_way():
    article = ArticleFactory(text="The minister said: “We will not accept this.” " * 3)
    for slug in ("iran", "ukraine"):
        TargetFactory(slug=slug, name=f"{slug} <{slug}> & co")
    StanceLabelFactory(slug="support", name="Support")
    prefix = StanceFormSet(instance=Quote(article=article)).prefix
    data = {
        "start": "19",
        "end": "45",
        "text": HOSTILE,
        "kind": "direct",
        "cue": HOSTILE,
        "exact": HOSTILE,
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-target": "999",
        f"{prefix}-0-note": HOSTILE,
    }
    for bound in (None, data):
        form = QuoteForm(bound, article=article)
        stances = StanceFormSet(bound, instance=Quote(article=article))
        if bound:
            form.is_valid()
            stances.is_valid()
        fields = [*form, *stances.management_form, *(field for row in [*stances, stances.empty_form] for field in row)]
        for field in fields:
            written = field.field.widget.render(field.html_name, field.value(), field.build_widget_attrs({}), fast)
            rendered = field.field.widget.render(field.html_name, field.value(), field.build_widget_attrs({}), engine)
            assert written == rendered, field.html_name
