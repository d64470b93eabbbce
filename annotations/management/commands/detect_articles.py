"""Detect the quotes of stored articles, as suggestions for the analysts.

    manage.py detect_articles --all            queue every article for the worker
    manage.py detect_articles 12 15            queue these articles
    manage.py detect_articles --all --wait     queue, then follow the worker's progress
    manage.py detect_articles 12 --now         detect here, without a worker

Writes suggestions to the database (each article's open suggestions replaced in
one transaction); ``detect_quotes`` is the detector's own command, which never does.
A progress bar goes to stderr.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.models import Article, DetectionRun


class Command(BaseCommand):
    help = "Detect quotes in articles (all, or the ids given) as suggestions: queued for the worker, or --now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Article ids.")
        parser.add_argument("--all", action="store_true", help="Every article.")
        parser.add_argument("--now", action="store_true", help="Detect in this process instead of queueing.")
        parser.add_argument("--wait", action="store_true", help="After queueing, follow the runs until they finish.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["all"]) == bool(options["ids"]):
            raise CommandError("Name article ids, or --all (not both).")
        articles = Article.objects.order_by("pk")
        if not options["all"]:
            articles = articles.filter(pk__in=options["ids"])
        ids = list(articles.values_list("pk", flat=True))
        missing = sorted(set(options["ids"]) - set(ids))
        if missing:
            raise CommandError(f"No article with id {', '.join(map(str, missing))}.")
        progress = not options["no_progress"]
        runs = DetectionRun.objects.request(ids) if not options["now"] else []
        if options["now"]:
            runs = DetectionRun.objects.bulk_create([DetectionRun(article_id=pk) for pk in ids])
            failed = 0
            for run in tqdm(runs, desc="detecting", unit="article", file=sys.stderr, disable=not progress):
                try:
                    run.perform()
                except Exception as error:  # recorded on the run; the others still run
                    failed += 1
                    self.stderr.write(f"Article {run.article_id}: {error}")
            self._report(len(runs), failed)
            return
        self.stdout.write(f"Queued {len(runs)} article{'s' if len(runs) != 1 else ''} for detection.")
        if options["wait"]:
            self._follow([run.pk for run in runs], progress)

    def _follow(self, run_ids: list[int], progress: bool) -> None:
        """Poll the runs until the worker has finished them all."""
        with tqdm(total=len(run_ids), desc="detecting", unit="article", file=sys.stderr, disable=not progress) as bar:
            finished = 0
            while finished < len(run_ids):
                time.sleep(1)
                runs = DetectionRun.objects.filter(pk__in=run_ids)
                now = runs.filter(status__in=[DetectionRun.Status.DONE, DetectionRun.Status.FAILED]).count()
                bar.update(now - finished)
                finished = now
        failed = DetectionRun.objects.filter(pk__in=run_ids, status=DetectionRun.Status.FAILED).count()
        self._report(len(run_ids), failed)

    def _report(self, total: int, failed: int) -> None:
        self.stdout.write(f"Detected quotes in {total - failed} of {total} articles; {failed} failed.")
        if failed:
            raise CommandError(f"{failed} detection{'s' if failed != 1 else ''} failed: see the articles' pages.")
