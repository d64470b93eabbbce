"""Background tasks (Django's tasks framework; a ``db_worker`` runs them)."""

from __future__ import annotations

from django.tasks import task

from .models import DetectionRun


@task
def detect_article(run_id: int) -> int:
    """Run one queued detection (``DetectionRun.perform``); returns the number of suggestions."""
    return DetectionRun.objects.get(pk=run_id).perform()
