"""Background exports started from the admin, with progress a page can poll.

An export job is a ZIP and a small JSON progress file in LETTERS_EXPORT_DIR,
both named by a random id. The progress file records the owner, so only the
user who started an export can read its progress or download it. Files work
with and without a result backend (embedded mode runs the task inline).
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from letters.models import Letter
from letters.services import EXPORTABLE, letters_export

_EXPORT_ID = re.compile(r"[0-9a-f]{16}")


def export_paths(export_id: str) -> tuple[Path, Path]:
    if not _EXPORT_ID.fullmatch(export_id):
        raise ValueError("Not an export id")
    base = Path(settings.LETTERS_EXPORT_DIR)
    return base / f"letters-{export_id}.zip", base / f"letters-{export_id}.json"


def export_job_create(*, user_id: int, total: int, merged: bool) -> str:
    """Reserve an id and write the queued state; the task does the work."""
    export_id = secrets.token_hex(8)
    Path(settings.LETTERS_EXPORT_DIR).mkdir(parents=True, exist_ok=True)
    _progress_write(export_id, owner=user_id, total=total, done=0, state="queued", merged=merged)
    return export_id


def export_job_run(*, export_id: str, letter_ids: list[int], user_id: int, merged: bool) -> None:
    """Export the letters this user may see, updating the progress file as it goes."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    letters = (
        Letter.objects.for_user(user)
        .filter(pk__in=letter_ids, status__in=EXPORTABLE)
        .select_related("campaign", "agency", "contact")
        .order_by("agency__code", "id")
    )
    out, _progress = export_paths(export_id)

    def progress(done: int, total: int) -> None:
        _progress_write(export_id, owner=user_id, total=total, done=done, state="running")

    try:
        summary = letters_export(letters=letters, out=out, merged=merged, progress=progress)
    except Exception:
        _progress_write(export_id, owner=user_id, total=len(letter_ids), done=0, state="failed")
        raise
    _progress_write(
        export_id, owner=user_id, total=summary.letters, done=summary.letters, state="done"
    )


def export_job_status(*, export_id: str, user_id: int) -> dict | None:
    """The job's progress for its owner, or None (unknown id or someone else's)."""
    try:
        _zip, path = export_paths(export_id)
        status = json.loads(path.read_text()[:10_000])
    except (ValueError, OSError):
        return None
    return status if status.get("owner") == user_id else None


def _progress_write(export_id: str, **status: object) -> None:
    _zip, path = export_paths(export_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)
