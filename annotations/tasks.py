"""Background tasks (Django's tasks framework; a ``db_worker`` runs them)."""

from __future__ import annotations

from django.tasks import task

from .models import DetectionRun


@task
def detect_articles(run_ids: list[int]) -> int:
    """Run queued detections in turn (``DetectionRun.perform`` each); returns how many
    finished. A run that fails is recorded on its own row, with the reason, and the
    others go on: the page shows each article's run, and "Retry" queues it again."""
    done = 0
    for run in DetectionRun.objects.filter(pk__in=run_ids).order_by("id"):
        try:
            run.perform()
        except Exception:  # noqa: S112 (perform() recorded the failure on the run)
            continue
        done += 1
    return done
