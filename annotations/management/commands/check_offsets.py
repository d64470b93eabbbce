"""Audit the offset invariant in the database itself.

Every quote's spans (content, source mention, cue) must read back from the
article with the database's own ``substr()``, which counts code points as
Python does. The model layer and the triggers of migration 0002 make a
mismatch impossible through Django; this finds one that came in another way
(a restore with triggers disabled, raw SQL, a replica written to directly).
It also reports spans that split a character as a reader sees it (a grapheme
cluster), which offsets.check_span refuses on every write. Exits non-zero when
anything is wrong, naming each quote.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from annotations.models import Article, Quote
from annotations.offsets import check_grapheme_boundaries

# Quotes whose content, mention or cue span is not the article text at its offsets.
MISMATCH_SQL = """
SELECT q.id, q.article_id,
       substr(a.text, q.start + 1, q."end" - q.start) IS DISTINCT FROM q.text AS bad_text,
       (q.mention_start IS NOT NULL AND substr(a.text, q.mention_start + 1, q.mention_end - q.mention_start)
        IS DISTINCT FROM q.mention_text) AS bad_mention,
       (q.cue_start IS NOT NULL AND substr(a.text, q.cue_start + 1, q.cue_end - q.cue_start)
        IS DISTINCT FROM q.cue_text) AS bad_cue
  FROM annotations_quote q JOIN annotations_article a ON a.id = q.article_id
 WHERE substr(a.text, q.start + 1, q."end" - q.start) IS DISTINCT FROM q.text
    OR (q.mention_start IS NOT NULL AND substr(a.text, q.mention_start + 1, q.mention_end - q.mention_start)
        IS DISTINCT FROM q.mention_text)
    OR (q.cue_start IS NOT NULL AND substr(a.text, q.cue_start + 1, q.cue_end - q.cue_start)
        IS DISTINCT FROM q.cue_text)
 ORDER BY q.id
"""


def span_mismatches(using: Any = None) -> list[tuple[int, int, bool, bool, bool]]:
    """(quote id, article id, text wrong, mention wrong, cue wrong) for each quote whose
    spans the database reads differently from what is stored."""
    database = using or connection
    sql = MISMATCH_SQL if database.vendor == "postgresql" else MISMATCH_SQL.replace("IS DISTINCT FROM", "IS NOT")
    with database.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


class Command(BaseCommand):
    help = "Check every stored quote span against its article text, in SQL; exit non-zero on any mismatch."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = span_mismatches()
        for quote_id, article_id, bad_text, bad_mention, bad_cue in mismatches:
            spans = [name for name, bad in (("text", bad_text), ("mention", bad_mention), ("cue", bad_cue)) if bad]
            self.stdout.write(
                f"quote {quote_id} (article {article_id}): the {', '.join(spans)} span does not match "
                "the article text at its offsets"
            )
        splits = list(self.grapheme_splits())
        for quote_id, message in splits:
            self.stdout.write(f"quote {quote_id}: {message}")

        total = Quote.objects.count()
        summary = f"{total} quote{'s' if total != 1 else ''} checked"
        if mismatches or splits:
            raise CommandError(
                f"{summary}: {len(mismatches)} quote{'s' if len(mismatches) != 1 else ''} with a span the database "
                f"reads differently, {len(splits)} splitting a character."
            )
        self.stdout.write(self.style.SUCCESS(f"{summary}: no mismatch, no split character."))

    def grapheme_splits(self) -> Iterator[tuple[int, str]]:
        """(quote id, message) for each stored span that splits a grapheme cluster."""
        texts: dict[int, str] = {}
        quotes = Quote.objects.order_by("article_id", "id").values_list(
            "id", "article_id", "start", "end", "mention_start", "mention_end", "cue_start", "cue_end"
        )
        for quote_id, article_id, start, end, mention_start, mention_end, cue_start, cue_end in quotes.iterator(
            chunk_size=2000
        ):
            if article_id not in texts:
                texts.clear()  # one article's text in memory at a time
                texts[article_id] = Article.objects.values_list("text", flat=True).get(pk=article_id)
            text = texts[article_id]
            spans = (("quote", start, end), ("source mention", mention_start, mention_end), ("cue", cue_start, cue_end))
            for name, span_start, span_end in spans:
                if span_start is None or span_end is None or not 0 <= span_start < span_end <= len(text):
                    continue  # a missing or impossible span is the SQL check's (and the constraints') business
                try:
                    check_grapheme_boundaries(text, span_start, span_end, name=name)
                except ValidationError as error:
                    yield quote_id, error.messages[0]
