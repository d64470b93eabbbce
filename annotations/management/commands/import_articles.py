"""Import articles from JSONL, CSV or plain-text files.

Each file is one transaction: either every article in it is imported (less the
duplicates, which are listed and skipped) or, if any line is bad, none is, and
the bad lines are named so the file can be fixed and imported again. The work
is done by ``annotations.importers``, which the browser upload shares.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.importers import (
    EXTENSIONS,
    FORMATS,
    ImportReport,
    Track,
    format_from_filename,
    import_articles,
    parse_iso_date,
)
from annotations.models import language_validator

PROGRESS_UNITS = {"checking": "article", "writing": "batch"}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _iso_date(value: str) -> str:
    try:
        parse_iso_date(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _language(value: str) -> str:
    try:
        language_validator(value)
    except ValidationError as error:
        raise argparse.ArgumentTypeError(" ".join(error.messages)) from None
    return value


class Command(BaseCommand):
    help = (
        "Import articles from JSONL (.jsonl, .ndjson), CSV (.csv) or plain-text (.txt) files. "
        "Each file is imported whole or not at all; duplicates are skipped and listed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="Read every file in this format instead of guessing it from the extension.",
        )
        parser.add_argument("--title", help="Title for a .txt article (default: its first non-empty line).")
        parser.add_argument("--outlet", help="Outlet for articles that don't name one.")
        parser.add_argument("--language", type=_language, help="BCP 47 language for articles that don't give one.")
        parser.add_argument(
            "--published-on", type=_iso_date, metavar="YYYY-MM-DD", help="Date for articles that don't give one."
        )
        parser.add_argument("--user", metavar="USERNAME", help="Record this user as the articles' creator.")
        parser.add_argument("--no-progress", action="store_true", help="Don't draw a progress bar.")

    def handle(
        self,
        *args: Any,
        files: list[Path],
        format: str | None,
        user: str | None,
        no_progress: bool,
        **options: Any,
    ) -> None:
        creator = self._user(user)
        plan = [(Path(path), self._format_of(Path(path), format)) for path in files]
        defaults = {
            name: options[name] for name in ("title", "outlet", "language", "published_on") if options.get(name)
        }
        show_progress = not no_progress and sys.stderr.isatty()

        refused = []
        for path, fmt in plan:
            try:
                content = path.read_bytes()
            except OSError as error:
                self.stderr.write(f"{path}: can't read the file ({error.strerror}).")
                refused.append(path)
                continue
            report = import_articles(
                content, fmt, defaults=defaults, user=creator, track=self._tracker(path, show_progress)
            )
            self._print_report(path, report)
            if not report.ok:
                refused.append(path)

        if refused:
            names = ", ".join(str(path) for path in refused)
            raise CommandError(
                f"{len(refused)} of {_count(len(plan), 'file')} refused; nothing was imported from {names}."
            )

    def _user(self, username: str | None) -> Any:
        if not username:
            return None
        User = get_user_model()
        try:
            return User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"There is no user named {username!r}.") from None

    def _format_of(self, path: Path, forced: str | None) -> str:
        # Checked for every file before any is imported, so a misnamed file
        # doesn't leave the files before it imported and those after it not.
        fmt = forced or format_from_filename(path.name)
        if fmt is None:
            raise CommandError(
                f"Can't tell the format of {path} from its extension: name it "
                f"{', '.join(EXTENSIONS)}, or pass --format {'|'.join(FORMATS)}."
            )
        return fmt

    def _tracker(self, path: Path, enabled: bool) -> Track:
        def track(items: Iterable[Any], total: int, description: str) -> Iterable[Any]:
            return tqdm(
                items,
                total=total,
                desc=f"{path.name}: {description}",
                unit=PROGRESS_UNITS.get(description, "it"),
                file=sys.stderr,
                disable=not enabled,
                delay=0.5,
                leave=False,
            )

        return track

    def _print_report(self, path: Path, report: ImportReport) -> None:
        if not report.ok:
            problems = _count(len(report.errors), "problem")
            self.stderr.write(self.style.ERROR(f"{path}: refused, nothing imported ({problems}):"))
            for note in report.errors:
                self.stderr.write(f"  {note}")
            return
        summary = f"{path}: imported {_count(report.created, 'article')}"
        if report.skipped:
            summary += f", skipped {_count(len(report.skipped), 'duplicate')}"
        self.stdout.write(self.style.SUCCESS(f"{summary}."))
        for note in report.skipped:
            self.stdout.write(f"  {note}")
