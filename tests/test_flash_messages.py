"""The flash messages under the header: a named region with a real list, or nothing at all."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.template.loader import render_to_string


def test_no_message_renders_nothing():
    assert render_to_string("_messages.html", {"messages": []}).strip() == ""


def test_messages_are_a_list_in_a_named_region_each_read_out_with_its_urgency():
    html = render_to_string(
        "_messages.html",
        {"messages": [Message(messages.SUCCESS, "Saved."), Message(messages.ERROR, "Not saved: the quote changed.")]},
    )
    assert '<section class="messages-region" aria-label="Messages"' in html
    assert '<ul class="messages">' in html
    assert '<li class="message success"><span role="status">Saved.</span></li>' in html
    assert '<li class="message error"><span role="alert">Not saved: the quote changed.</span></li>' in html
