"""{% url %} through ``reverse_remembered`` (annotations/templatetags/cached_url.py): the same
URLs as Django's tag, each worked out once, and a change of URL configuration forgets them."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, Template, engines
from django.test import RequestFactory, override_settings
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix
from django.utils.safestring import mark_safe

from annotations.templatetags import cached_url


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_the_url_tag_is_the_remembered_one_and_answers_as_djangos():
    engine = engines["django"].engine
    assert isinstance(Template("{% url 'annotations:home' %}", engine=engine).nodelist[0], cached_url.RememberedURLNode)
    plain = Engine()  # Django's own tag, for comparison
    for source, context in [
        ("{% url 'annotations:quote-new' pk %}", {"pk": 12}),
        ("{% url 'annotations:article-annotate' pk=pk %}", {"pk": 7}),
        ("{% url 'annotations:quote-new' pk as link %}[{{ link }}]", {"pk": 3}),
        ("{% url 'annotations:guidelines' %}", {}),
        ("{% url 'annotations:quote-new' 'x' as link %}[{{ link }}]", {}),  # no match, kept in a variable: empty
        ("{% url name pk %}", {"name": "annotations:quote-edit", "pk": 9}),
    ]:
        assert render(source, **context) == plain.from_string(source).render(Context(context))
    with pytest.raises(NoReverseMatch):
        render("{% url 'annotations:quote-new' 'x' %}")


def test_a_url_is_reversed_once_then_remembered(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return reverse(*args, **kwargs)

    monkeypatch.setattr(cached_url, "reverse", counting)
    cached_url._reversed.clear()
    first = render("{% url 'annotations:quote-new' 41 %}{% url 'annotations:quote-new' 41 %}")
    assert first == reverse("annotations:quote-new", args=[41]) * 2
    assert len(calls) == 1
    render("{% url 'annotations:quote-new' 42 %}")
    assert len(calls) == 2
    # An argument other than an id or a string is reversed each time, never kept.
    render("{% url 'annotations:quote-new' pk %}{% url 'annotations:quote-new' pk %}", pk=mark_safe("41"))
    assert len(calls) == 4


def test_the_script_prefix_and_the_url_configuration_are_part_of_what_is_remembered():
    cached_url._reversed.clear()
    source = "{% url 'annotations:guidelines' %}"
    bare = render(source)
    set_script_prefix("/demarche/")
    try:
        assert render(source) == "/demarche" + bare
    finally:
        clear_script_prefix()
        set_script_prefix("/")
    assert render(source) == bare
    with override_settings(ROOT_URLCONF="bench.urls"):
        assert cached_url._reversed == {}  # forgotten with the old configuration
    request = RequestFactory().get("/")
    assert engines["django"].from_string(source).render({}, request) == bare
