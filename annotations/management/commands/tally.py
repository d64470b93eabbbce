"""The statistics' tally of curated stances (``annotations.tallies``).

    manage.py tally --check      compare it with a count from scratch; exit 1 on a difference
    manage.py tally --rebuild    count it again from the curated stances

Every change to the curated layer moves the tally in its own transaction, so
``--check`` should always find nothing; ``--rebuild`` is for data written
around the models (a restore of part of a dump, rows loaded with COPY).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations import tallies


class Command(BaseCommand):
    help = "Check the statistics' tally of curated stances against a count from scratch, or rebuild it."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="Compare with a count from scratch.")
        action.add_argument("--rebuild", action="store_true", help="Count the tally again.")

    def handle(self, *args: Any, check: bool, rebuild: bool, **options: Any) -> None:
        if rebuild:
            rows = tallies.rebuild()
            self.stdout.write(f"Tally rebuilt: {rows:,} rows.")
            return
        differences = tallies.differences()
        if not differences:
            self.stdout.write("The tally equals a count from scratch.")
            return
        for (month, target, label, country), (stored, counted) in sorted(differences.items())[:20]:
            self.stdout.write(
                f"{month:%Y-%m} target {target} label {label} country {country or '—'}: "
                f"tally {stored}, counted {counted}"
            )
        raise CommandError(f"The tally differs from a count from scratch in {len(differences):,} rows.")
