"""Letter tasks: thin, they take ids and call services."""

from __future__ import annotations

from celery import shared_task

from letters.exports import export_job_run


@shared_task(
    name="letters.export",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def letters_export_task(
    *, export_id: str, letter_ids: list[int], user_id: int, merged: bool
) -> str:
    """Write an admin-started export ZIP; progress goes to its JSON file."""
    export_job_run(export_id=export_id, letter_ids=letter_ids, user_id=user_id, merged=merged)
    return export_id
