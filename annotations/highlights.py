"""Cut an article's text into segments so overlapping and nested quotes can all
be highlighted.

Each segment is a run of text covered by the same set of quotes. The page
renders one element per segment with its code-point start, which is what lets
the browser script turn a DOM selection back into code-point offsets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise
from typing import Protocol

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from .models import Quote, missing_parts


@dataclass(slots=True)
class ListedQuote:
    """A quote as the annotate page shows it: plain values, no model instance."""

    pk: int
    start: int
    end: int
    text: str
    kind: str
    is_curated: bool
    annotator_id: int | None
    annotator_name: str | None
    speaker_name: str | None
    mention_start: int | None
    mention_end: int | None
    cue_start: int | None
    cue_end: int | None
    chips: list[tuple[str, str, str]]  # (label slug, label name, target name), lead label first

    @property
    def lead_label(self) -> str:
        return self.chips[0][0] if self.chips else "none"

    @property
    def missing(self) -> str:
        """The rule of ``QuoteQuerySet.incomplete``, read off the row: a speaker's name
        is required, so no name means no speaker; no chips means no stance."""
        return missing_parts(has_speaker=self.speaker_name is not None, has_stance=bool(self.chips))


@dataclass(frozen=True)
class Completion:
    """The share of an article's quotes that are complete (a speaker and a stance each),
    read off the rows the page already has: no query."""

    complete: int
    total: int

    @classmethod
    def of(cls, quotes: list[ListedQuote]) -> Completion:
        return cls(sum(1 for quote in quotes if not quote.missing), len(quotes))

    @property
    def percent(self) -> int:
        return round(100 * self.complete / self.total) if self.total else 0


class Spanned(Protocol):
    """A detector's suggestion as the text needs it: an id and a span."""

    pk: int
    start: int
    end: int


@dataclass
class Segment:
    start: int
    end: int
    text: str
    quotes: list[ListedQuote] = field(default_factory=list)
    suggestions: list[Spanned] = field(default_factory=list)

    @property
    def suggestion_ids(self) -> str:
        return " ".join(str(suggestion.pk) for suggestion in self.suggestions)

    @property
    def depth(self) -> int:
        return len(self.quotes)

    @property
    def innermost(self) -> ListedQuote | None:
        """The quote that colours the segment: the one that started last (the most nested)."""
        return self.quotes[-1] if self.quotes else None

    @property
    def quote_ids(self) -> str:
        return " ".join(str(quote.pk) for quote in self.quotes)


def segments(text: str, quotes: Iterable[ListedQuote], suggestions: Iterable[Spanned] = ()) -> list[Segment]:
    """Split ``text`` at every quote and suggestion boundary (a sweep over sorted
    boundaries). Suggestions are a layer of their own: they mark segments, never
    colour them as quotes do."""
    quotes = sorted(quotes, key=lambda quote: (quote.start, -quote.end, quote.pk or 0))
    suggestions = sorted(suggestions, key=lambda suggestion: (suggestion.start, suggestion.end))
    cuts = {0, len(text)}
    for span in [*quotes, *suggestions]:
        cuts.add(span.start)
        cuts.add(span.end)
    ordered = sorted(cut for cut in cuts if 0 <= cut <= len(text))

    result: list[Segment] = []
    active: list[ListedQuote] = []
    pending = list(reversed(quotes))
    for left, right in pairwise(ordered):
        active = [quote for quote in active if quote.end > left]
        while pending and pending[-1].start <= left:
            quote = pending.pop()
            if quote.end > left:
                active.append(quote)
        result.append(Segment(left, right, text[left:right], list(active)))
    if suggestions:
        # Few per article: a scan per suggestion over the segments it covers.
        index = 0
        for suggestion in suggestions:
            while index < len(result) and result[index].end <= suggestion.start:
                index += 1
            for part in result[index:]:
                if part.start >= suggestion.end:
                    break
                part.suggestions.append(suggestion)
    return result


def render_segments(parts: list[Segment]) -> SafeString:
    """The article text as one HTML string of segment spans.

    Built in Python rather than in a template loop: a long article has a
    thousand segments and the template engine spends most of the page's time
    on them. ``format_html`` per segment still cost half the page (it copies
    and re-checks every argument), so each piece of text is escaped with
    ``html.escape`` and the markup around it holds only integers and escaped
    label slugs.
    """
    lead_class = _Escaped()
    lanes = _lanes(parts)
    rendered = []
    for part in parts:
        innermost = part.innermost
        # A suggestion's segments are drawn dashed (class sg) and name it in data-g.
        suggested = f' sg" data-g="{part.suggestion_ids}' if part.suggestions else ""
        if innermost is None:
            rendered.append(f'<span class="seg{suggested}" data-s="{part.start:d}">{escape(part.text)}</span>')
        else:
            # An incomplete quote is drawn so; the segment where one ends carries the
            # marker, which CSS writes after it (generated text: not in the selection's
            # text, so the offsets the script counts stay the article's).
            incomplete = " incomplete" if innermost.missing else ""
            if any(quote.end == part.end and quote.missing for quote in part.quotes):
                incomplete += " incomplete-end"
            # Each quote keeps one underline lane from its start to its end, coloured by its
            # lead label, so nested and overlapping quotes read as stacked lines (as in
            # INCEpTION) rather than one blended colour. Lanes past the third share it.
            underlines = " ".join(f"u{min(lanes[q.pk], 3):d}-{lead_class[q.lead_label]}" for q in part.quotes)
            deepest = min(max(lanes[q.pk] for q in part.quotes), 3)
            # A quote with several stances ends with one dot per stance: all of them, not
            # only the first's colour. Empty elements: the text and its offsets are unchanged.
            dots = "".join(
                lead_class.dots(quote.chips) for quote in part.quotes if quote.end == part.end and len(quote.chips) > 1
            )
            rendered.append(
                f'<span class="seg hl lbl-{lead_class[innermost.lead_label]} depth-{min(part.depth, 3):d} '
                f'lanes-{deepest:d} {underlines}{incomplete}{suggested}" '
                f'data-s="{part.start:d}" data-q="{part.quote_ids}">{escape(part.text)}{dots}</span>'
            )
    # Every string from the database above went through escape().
    return mark_safe("".join(rendered))  # noqa: S308  # nosec B308 B703


def _lanes(parts: list[Segment]) -> dict[int, int]:
    """Each quote's underline lane (1 = lowest): the lowest lane free where it starts,
    kept to its end (interval colouring over quotes in order of start)."""
    lanes: dict[int, int] = {}
    lane_ends: list[int] = []  # lane_ends[i]: where the quote in lane i+1 ends
    for part in parts:
        for quote in part.quotes:
            if quote.pk in lanes:
                continue
            free = next((i for i, end in enumerate(lane_ends) if end <= quote.start), None)
            if free is None:
                lane_ends.append(quote.end)
                free = len(lane_ends) - 1
            else:
                lane_ends[free] = quote.end
            lanes[quote.pk] = free + 1
    return lanes


KIND_LABELS = {value: escape(str(label)) for value, label in Quote.Kind.choices}


def render_quote_items(quotes: list[ListedQuote], user: object) -> SafeString:
    """The side list's items, one per quote in text order (escaped like the text)."""
    edit_url = reverse("annotations:quote-edit", args=[0]).replace("/0/", "/{:d}/")
    user_pk = getattr(user, "pk", None)
    escaped = _Escaped()  # names, slugs and chips repeat: escape each once
    items = []
    for quote in quotes:
        text = quote.text if len(quote.text) <= 120 else quote.text[:119] + "…"
        if quote.is_curated:
            whose = " · curated"
        elif quote.annotator_id and quote.annotator_id != user_pk:
            whose = f" · {escaped[quote.annotator_name]}"
        else:
            whose = ""
        chips = "".join(escaped.chip(*chip) for chip in quote.chips)
        kind = escaped[quote.kind]
        missing = quote.missing
        flag = f'<span class="incomplete-marker">Incomplete: {escaped[missing]}</span>' if missing else ""
        incomplete = " incomplete" if missing else ""
        # The stored source mention and cue, for the script to mark in the text on hover and focus.
        spans = ""
        if quote.mention_start is not None and quote.mention_end is not None:
            spans += f' data-mention="{quote.mention_start:d} {quote.mention_end:d}"'
        if quote.cue_start is not None and quote.cue_end is not None:
            spans += f' data-cue="{quote.cue_start:d} {quote.cue_end:d}"'
        items.append(
            f'<li id="quote-{quote.pk:d}" class="lbl-{escaped[quote.lead_label]}{incomplete}"{spans}>'
            f'<a href="{edit_url.format(quote.pk)}" class="quote-link" data-quote="{quote.pk:d}">'
            f'<span class="qtext">{escape(text)}</span></a>'
            f'<span class="qmeta">{escaped[quote.speaker_name or "unattributed"]} · '
            f'<span class="chip kind-{kind}">{KIND_LABELS.get(quote.kind, kind)}</span>{whose}</span>'
            f'<span class="chips">{chips}</span>{flag}</li>'
        )
    # Every string from the database above went through escape().
    return mark_safe("".join(items))  # noqa: S308  # nosec B308 B703


class _Escaped(dict):
    """``escaped[value]``: ``html.escape(value)``, computed once per distinct value."""

    def __missing__(self, value: str) -> str:
        self[value] = result = escape(value)
        return result

    def dots(self, chips: list[tuple[str, str, str]]) -> str:
        key = ("dots", *chips)
        if key not in self:
            self[key] = (
                '<span class="stance-dots" aria-hidden="true">'
                + "".join(
                    f'<i class="dot lbl-{escape(slug)}" title="{escape(label)}: {escape(target)}"></i>'
                    for slug, label, target in chips
                )
                + "</span>"
            )
        return self[key]

    def chip(self, slug: str, label: str, target: str) -> str:
        key = ("chip", slug, label, target)
        if key not in self:
            self[key] = f'<span class="chip lbl-{escape(slug)}">{escape(label)}: {escape(target)}</span>'
        return self[key]


# How much of the article a timeline shows on each side of a quote, in code points.
EXCERPT_CONTEXT = 160


def excerpt(before: str, text: str, after: str) -> SafeString:
    """A quote in its sentence for reading: the article's text around it, cut at a word
    boundary with an ellipsis, the quote itself in ``<mark>``; every piece escaped."""
    if len(before) >= EXCERPT_CONTEXT and " " in before:
        before = "…" + before[before.index(" ") + 1 :]
    if len(after) >= EXCERPT_CONTEXT and " " in after:
        after = after[: after.rindex(" ")] + "…"
    return mark_safe(f"{escape(before)}<mark>{escape(text)}</mark>{escape(after)}")  # noqa: S308  # nosec B308 B703: every piece escaped
