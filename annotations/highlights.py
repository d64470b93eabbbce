"""Cut an article's text into segments so overlapping and nested quotes can all
be highlighted.

Each segment is a run of text covered by the same set of quotes. The page
renders one element per segment with its code-point start, which is what lets
the browser script turn a DOM selection back into code-point offsets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import Quote


@dataclass
class Segment:
    start: int
    end: int
    text: str
    quotes: list[Quote] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.quotes)

    @property
    def innermost(self) -> Quote | None:
        """The quote that colours the segment: the one that started last (the most nested)."""
        return self.quotes[-1] if self.quotes else None

    @property
    def quote_ids(self) -> str:
        return " ".join(str(quote.pk) for quote in self.quotes)


def segments(text: str, quotes: Iterable[Quote]) -> list[Segment]:
    """Split ``text`` at every quote boundary (a sweep over sorted boundaries)."""
    quotes = sorted(quotes, key=lambda quote: (quote.start, -quote.end, quote.pk or 0))
    cuts = {0, len(text)}
    for quote in quotes:
        cuts.add(quote.start)
        cuts.add(quote.end)
    ordered = sorted(cut for cut in cuts if 0 <= cut <= len(text))

    result: list[Segment] = []
    active: list[Quote] = []
    pending = list(reversed(quotes))
    for left, right in pairwise(ordered):
        active = [quote for quote in active if quote.end > left]
        while pending and pending[-1].start <= left:
            quote = pending.pop()
            if quote.end > left:
                active.append(quote)
        result.append(Segment(left, right, text[left:right], list(active)))
    return result


def render_segments(parts: list[Segment]) -> SafeString:
    """The article text as one HTML string of segment spans.

    Built in Python rather than in a template loop: a long article has a
    thousand segments and the template engine spends most of the page's time
    on them. Every piece of text goes through ``format_html``, which escapes it.
    """
    rendered = []
    for part in parts:
        if part.quotes:
            depth = min(part.depth, 3)
            rendered.append(
                format_html(
                    '<span class="seg hl lbl-{} depth-{}" data-s="{}" data-q="{}">{}</span>',
                    getattr(part.innermost, "lead_label", "none"),
                    depth,
                    part.start,
                    part.quote_ids,
                    part.text,
                )
            )
        else:
            rendered.append(format_html('<span class="seg" data-s="{}">{}</span>', part.start, part.text))
    return _join(rendered)


def render_quote_items(quotes: list[Quote], user: object) -> SafeString:
    """The side list's items, one per quote in text order (escaped like the text)."""
    edit_url = reverse("annotations:quote-edit", args=[0]).replace("/0/", "/{}/")
    items = []
    for quote in quotes:
        text = quote.text if len(quote.text) <= 120 else quote.text[:119] + "…"
        if quote.is_curated:
            whose = " · curated"
        elif quote.annotator_id and quote.annotator_id != getattr(user, "pk", None):
            whose = f" · {quote.annotator_name}"
        else:
            whose = ""
        chips = format_html_join(
            "",
            '<span class="chip lbl-{}">{}: {}</span>',
            ((slug, label, target) for slug, label, target in quote.chips),
        )
        items.append(
            format_html(
                '<li id="quote-{pk}" class="lbl-{lead}"><a href="{url}" class="quote-link" data-quote="{pk}">'
                '<span class="qtext">{text}</span></a><span class="qmeta">{speaker} · '
                '<span class="chip kind-{kind}">{kind_label}</span>{whose}</span>'
                '<span class="chips">{chips}</span></li>',
                pk=quote.pk,
                lead=quote.lead_label,
                url=edit_url.format(quote.pk),
                text=text,
                speaker=quote.speaker_name or "unattributed",
                kind=quote.kind,
                kind_label=quote.get_kind_display(),
                whose=whose,
                chips=chips,
            )
        )
    return _join(items)


def _join(pieces: list[SafeString]) -> SafeString:
    """Concatenate already-escaped pieces (format_html_join leaves SafeStrings as they are)."""
    return format_html_join("", "{}", ((piece,) for piece in pieces))
