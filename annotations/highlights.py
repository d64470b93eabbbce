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


def lead_label_slug(quote: Quote) -> str:
    """The label that colours a quote: its first stance in label order (prefetched)."""
    stances = sorted(quote.stances.all(), key=lambda stance: (stance.label.order, stance.label_id))
    return stances[0].label.slug if stances else "none"
