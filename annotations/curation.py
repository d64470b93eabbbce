"""The curation page's reading of an article: its annotators' quotes aligned row by row.

``annotations.agreement`` aligns the annotations and judges each row; this
module loads the quotes, stances and curated copies the page shows beside them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils.safestring import SafeString

from .agreement import Annotation, ArticleAgreement, Verdict, article_agreement, verdict
from .highlights import ListedQuote, render_segments, segments
from .models import Article, Assignment, Comment, Quote, Stance, Target


@dataclass
class AlignedRow:
    """An alignment row as the curation page shows it."""

    number: int
    cells: list[Quote | None]  # one per annotator, in the order of the columns
    verdict: Verdict
    targets: list[tuple[Target, bool]]  # every target of the row, and whether all agree on it
    curated: list[Quote]
    start: int  # the row's span: from the first of its quotes' starts to the last of their ends
    end: int
    text: str

    @property
    def quotes(self) -> list[Quote]:
        return [quote for quote in self.cells if quote is not None]

    @property
    def present(self) -> int:
        return len(self.quotes)


@dataclass
class Curation:
    """Everything the curation page shows about one article, read in a fixed number of queries."""

    article: Article
    assignments: list[Assignment]
    annotators: list[Any]
    agreement: ArticleAgreement
    rows: list[AlignedRow]
    curated: list[Quote]
    dropped: list[Any] = field(default_factory=list)

    @property
    def submitted(self) -> list[Assignment]:
        return [assignment for assignment in self.assignments if assignment.status == Assignment.Status.SUBMITTED]

    @property
    def unanimous_open_rows(self) -> list[AlignedRow]:
        return [row for row in self.rows if row.verdict.unanimous and not row.curated]

    @property
    def undecided_rows(self) -> list[AlignedRow]:
        """Rows without a curated version: marking the article curated leaves them out."""
        return [row for row in self.rows if not row.curated]

    @property
    def added(self) -> list[Quote]:
        """Curated quotes in no row (added by a reviewer): each curated quote is shown
        once, in its row or, for these, after the rows."""
        in_rows = {quote.pk for row in self.rows for quote in row.curated}
        return [quote for quote in self.curated if quote.pk not in in_rows]

    def text_html(self) -> SafeString:
        """The article text with the curated quotes drawn as the annotate page draws
        quotes (the same segments, so the same selection code reads it)."""
        listed = [
            ListedQuote(
                quote.pk,
                quote.start,
                quote.end,
                quote.text,
                quote.kind,
                True,
                quote.annotator_id,
                quote.annotator.get_username() if quote.annotator else None,
                quote.speaker.name if quote.speaker else None,
                quote.mention_start,
                quote.mention_end,
                quote.cue_start,
                quote.cue_end,
                chips=[(stance.label.slug, stance.label.name, stance.target.name) for stance in quote.stances.all()],
            )
            for quote in self.curated
        ]
        return render_segments(segments(self.article.text, listed))

    def row_of(self, quote_id: int) -> AlignedRow | None:
        return next((row for row in self.rows if any(quote.pk == quote_id for quote in row.quotes)), None)


def _annotation(quote: Quote) -> Annotation:
    return Annotation(
        id=quote.pk,
        annotator=quote.annotator_id,
        start=quote.start,
        end=quote.end,
        speaker=quote.speaker_id,
        kind=quote.kind,
        stances={stance.target_id: stance.label_id for stance in quote.stances.all()},
    )


def _quotes_for_page(queryset: Any) -> Any:
    return (
        queryset.select_related("speaker", "speaker_role", "addressee", "annotator")
        .prefetch_related(
            Prefetch("stances", Stance.objects.select_related("target", "label")),
            Prefetch("comments", Comment.objects.select_related("author")),
        )
        .in_text_order()
    )


def load_curation(article: Article) -> Curation:
    assignments = list(article.assignments.select_related("annotator").order_by("annotator__username", "id"))
    annotators = [assignment.annotator for assignment in assignments if assignment.status in Assignment.DONE]
    raw = list(_quotes_for_page(Quote.objects.by_done_annotators().filter(article=article)))
    curated = list(_quotes_for_page(Quote.objects.curated().filter(article=article)))
    links = Quote.curated_from.through.objects.filter(from_quote__in=[quote.pk for quote in curated]).values_list(
        "from_quote_id", "to_quote_id"
    )
    curated_by_id = {quote.pk: quote for quote in curated}
    copies: dict[int, list[Quote]] = defaultdict(list)
    for quote in curated:
        quote.source_ids = []
    for curated_id, source_id in links:
        copies[source_id].append(curated_by_id[curated_id])
        curated_by_id[curated_id].source_ids.append(source_id)

    by_id = {quote.pk: quote for quote in raw}
    targets = {stance.target_id: stance.target for quote in raw for stance in quote.stances.all()}
    agreement = article_agreement(
        {user.pk: [_annotation(quote) for quote in raw if quote.annotator_id == user.pk] for user in annotators}
    )
    text = article.text
    rows = []
    for number, row in enumerate(agreement.rows, start=1):
        row_verdict = verdict(row, agreement.annotators)
        row_curated: dict[int, Quote] = {}
        for annotation in row.quotes.values():
            for copy in copies.get(annotation.id, []):
                row_curated[copy.pk] = copy
        rows.append(
            AlignedRow(
                number=number,
                cells=[by_id[row.quotes[user.pk].id] if user.pk in row.quotes else None for user in annotators],
                verdict=row_verdict,
                targets=[(targets[target], agrees) for target, agrees in row_verdict.stances.items()],
                curated=sorted(row_curated.values(), key=lambda quote: (quote.start, quote.pk)),
                start=row.start,
                end=row.end,
                text=text[row.start : row.end],
            )
        )
    # A drop that was undone is no longer one: its quote is back under its own id.
    dropped = list(
        Quote.history.filter(article_id=article.pk, is_curated=True, history_type="-")
        .exclude(id__in=list(curated_by_id))
        .select_related("history_user")
        .order_by("-history_date")[:20]
    )
    return Curation(article, assignments, annotators, agreement, rows, curated, dropped)
