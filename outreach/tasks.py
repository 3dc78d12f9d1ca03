"""Core tasks. Tasks are thin: they take ids and call services."""

from __future__ import annotations

from celery import shared_task

from outreach.models import Agency


@shared_task(name="outreach.healthcheck")
def healthcheck() -> dict:
    """Prove a worker can reach the broker, the database and our code."""
    return {"database": True, "agencies": Agency.objects.count()}
