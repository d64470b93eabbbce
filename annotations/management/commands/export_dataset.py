"""Export quotes to a file: JSONL, CSV, W3C Web Annotation, doccano or Label Studio.

The same writers as GET /api/v1/quotes/export and releases
(``annotations.exporters``), and the same filters as the API
(``annotations.filters.QuoteFilter``). The file is written under a temporary
name and renamed when complete, so an interrupted export never leaves a
truncated file that looks finished.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict
from tqdm import tqdm

from annotations import exporters
from annotations.filters import CURATED, LAYERS, QUOTE_ORDERINGS, QuoteFilter, ordering_exprs
from annotations.models import Quote

# Command-line option → QuoteFilter name.
FILTER_OPTIONS = {
    "speaker": "speaker",
    "speaker_country": "speaker_country",
    "target": "target",
    "label": "label",
    "kind": "kind",
    "outlet": "outlet",
    "published_after": "published_after",
    "published_before": "published_before",
    "annotator": "annotator",
    "article": "article",
    "q": "q",
}


class Command(BaseCommand):
    help = (
        "Export quotes (the curated layer unless --layer raw) as jsonl, csv, w3c, doccano or labelstudio. "
        "Filters are those of GET /api/v1/quotes/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", required=True, choices=list(exporters.FORMATS))
        parser.add_argument("--output", required=True, metavar="FILE", help='Where to write; "-" for standard output.')
        parser.add_argument("--layer", choices=[name for name, _ in LAYERS], default=CURATED)
        parser.add_argument(
            "--as-user",
            metavar="USERNAME",
            help="Export only what this user may read through the API (default: everything, as the operator).",
        )
        parser.add_argument("--ordering", choices=list(QUOTE_ORDERINGS), default="id")
        parser.add_argument("--speaker", type=int, metavar="ID")
        parser.add_argument("--speaker-country", metavar="CC")
        parser.add_argument("--target", metavar="SLUG", help="Includes the targets below it.")
        parser.add_argument("--label", metavar="SLUG")
        parser.add_argument("--kind", choices=Quote.Kind.values)
        parser.add_argument("--outlet")
        parser.add_argument("--published-after", metavar="YYYY-MM-DD")
        parser.add_argument("--published-before", metavar="YYYY-MM-DD")
        parser.add_argument("--annotator", metavar="USERNAME", help="Raw layer only.")
        parser.add_argument("--article", type=int, metavar="ID")
        parser.add_argument("--q", metavar="WORDS", help="Full-text search in the quote text.")
        parser.add_argument("--no-progress", action="store_true", help="Don't draw a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt, output = options["format"], options["output"]
        queryset = self._queryset(options)
        total = queryset.count()
        # On a terminal only, as import_articles does: a cron job's log gets the summary line, not bars.
        show_progress = not options["no_progress"] and sys.stderr.isatty()
        with tqdm(total=total, unit="quote", file=sys.stderr, disable=not show_progress, desc=f"export {fmt}") as bar:
            chunks = exporters.export(queryset, fmt, progress=bar.update)  # type: ignore[arg-type]  # returns a bool nobody reads
            if output == "-":
                for chunk in chunks:
                    self.stdout.write(chunk, ending="")
                return
            self._write_atomically(Path(output), chunks)
        self.stderr.write(self.style.SUCCESS(f"Exported {total} quote{'s' if total != 1 else ''} to {output} ({fmt})."))

    def _queryset(self, options: dict[str, Any]) -> Any:
        base = Quote.objects.all()
        if options["as_user"]:
            User = get_user_model()
            try:
                user = User.objects.get_by_natural_key(options["as_user"])
            except User.DoesNotExist:
                raise CommandError(f"There is no user named {options['as_user']!r}.") from None
            base = Quote.objects.visible_to(user)
        data = QueryDict(mutable=True)
        data["layer"] = options["layer"]
        for option, name in FILTER_OPTIONS.items():
            if options.get(option) not in (None, ""):
                data[name] = str(options[option])
        filterset = QuoteFilter(data, queryset=base)
        if not filterset.is_valid():
            problems = "; ".join(
                f"--{name.replace('_', '-')}: {' '.join(errors)}" for name, errors in filterset.errors.items()
            )
            raise CommandError(problems)
        return filterset.qs.order_by(*ordering_exprs(QUOTE_ORDERINGS[options["ordering"]]))

    def _write_atomically(self, path: Path, chunks: Any) -> None:
        directory = path.resolve().parent
        if not directory.is_dir():
            raise CommandError(f"The folder {directory} does not exist.")
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                for chunk in chunks:
                    file.write(chunk)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
