"""Background tasks (Django's tasks framework; a ``db_worker`` runs them)."""

from __future__ import annotations

import logging

from django.tasks import task

from .models import DetectionRun

logger = logging.getLogger(__name__)


@task
def detect_articles(run_ids: list[int]) -> int:
    """Run queued detections in turn (``DetectionRun.perform`` each); returns how many
    finished. A run that fails is recorded on its own row, with the reason, and the
    others go on: the page shows each article's run, and "Retry" queues it again."""
    done = 0
    for run in DetectionRun.objects.filter(pk__in=run_ids).order_by("id"):
        try:
            run.perform()
        except Exception:  # perform() recorded the failure on the run; the batch goes on
            logger.exception("Detection run %s (article %s) failed", run.pk, run.article_id)
        else:
            done += 1
    return done
