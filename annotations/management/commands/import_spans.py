"""Import span annotations from doccano JSONL or Label Studio JSON as a user's raw quotes.

Each file is checked whole and imported whole or not at all (see
``annotations.span_importers``, which POST /api/v1/quotes/import shares).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.span_importers import FORMATS, SpanImportReport, Track, import_spans

EXTENSIONS = {".jsonl": "doccano", ".ndjson": "doccano", ".json": "labelstudio"}


class Command(BaseCommand):
    help = (
        "Import spans from doccano (.jsonl) or Label Studio (.json) exports as USER's raw quotes. "
        "Articles are matched by their text, or created."
    )
    # The checks of what an import touches (the models and the database), not the URLs:
    # checking those imports every view and export format, ~0.8 s of a 2 s import of
    # 3,000 spans. `manage.py check` (CI, deployment) runs them all.
    requires_system_checks = [Tags.models, Tags.database]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
        parser.add_argument("--user", required=True, metavar="USERNAME", help="Whose quotes the spans become.")
        parser.add_argument("--format", choices=FORMATS, help="Instead of guessing from the extension.")
        parser.add_argument("--no-progress", action="store_true", help="Don't draw a progress bar.")

    def handle(self, *args: Any, files: list[Path], user: str, format: str | None, **options: Any) -> None:
        User = get_user_model()
        try:
            annotator = User.objects.get_by_natural_key(user)
        except User.DoesNotExist:
            raise CommandError(f"There is no user named {user!r}.") from None
        plan = []
        for path in files:
            fmt = format or EXTENSIONS.get(path.suffix.lower())
            if fmt is None:
                raise CommandError(f"Can't tell the format of {path}: name it .jsonl or .json, or pass --format.")
            plan.append((path, fmt))
        refused = []
        for path, fmt in plan:
            try:
                content = path.read_bytes()
            except OSError as error:
                self.stderr.write(f"{path}: can't read the file ({error.strerror}).")
                refused.append(path)
                continue
            report = import_spans(content, fmt, user=annotator, track=self._tracker(path, not options["no_progress"]))
            self._print(path, report)
            if not report.ok:
                refused.append(path)
        if refused:
            raise CommandError(f"{len(refused)} of {len(plan)} file(s) refused; nothing was imported from them.")

    def _tracker(self, path: Path, enabled: bool) -> Track:
        def track(items: Iterable[Any], total: int, description: str) -> Iterable[Any]:
            return tqdm(
                items,
                total=total,
                desc=f"{path.name}: {description}",
                unit="span",
                file=sys.stderr,
                disable=not enabled or not sys.stderr.isatty(),
                leave=False,
            )

        return track

    def _print(self, path: Path, report: SpanImportReport) -> None:
        if not report.ok:
            self.stderr.write(self.style.ERROR(f"{path}: refused, nothing imported ({len(report.errors)} problem(s)):"))
            for note in report.errors:
                self.stderr.write(f"  {note}")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{path}: {report.quotes_created} quote(s) imported; {report.articles_created} article(s) created, "
                f"{report.articles_matched} matched."
            )
        )
        for note in report.skipped:
            self.stdout.write(f"  {note}")
