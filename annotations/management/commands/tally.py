"""The tallies of the curated layer (``annotations.tallies``).

    manage.py tally --check      compare them with a count from scratch; exit 1 on a difference
    manage.py tally --rebuild    count them again from the curated layer

Every change to the curated layer moves the tallies in its own transaction, so
``--check`` should always find nothing; ``--rebuild`` is for data written
around the models (a restore of part of a dump, rows loaded with COPY).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations import tallies


class Command(BaseCommand):
    help = "Check the tallies of the curated layer against a count from scratch, or rebuild them."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="Compare with a count from scratch.")
        action.add_argument("--rebuild", action="store_true", help="Count the tally again.")

    def handle(self, *args: Any, check: bool, rebuild: bool, **options: Any) -> None:
        if rebuild:
            rows = tallies.rebuild()
            self.stdout.write("Tallies rebuilt: " + ", ".join(f"{name} {count:,} rows" for name, count in rows.items()))
            return
        differences = tallies.differences()
        if not differences:
            self.stdout.write("The tallies equal a count from scratch.")
            return
        for (name, key), (stored, counted) in sorted(differences.items(), key=str)[:20]:
            self.stdout.write(f"{name} {key}: tally {stored}, counted {counted}")
        raise CommandError(f"The tallies differ from a count from scratch in {len(differences):,} rows.")
