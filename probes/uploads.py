"""Files uploaded through the admin: kept on disk between preview and commit.

An upload is stored under MEDIA_ROOT/feed-uploads/<token>.upload (never held
in memory, capped at FEED_MAX_BYTES), with its progress in <token>.json so
the web process can show what a worker is doing.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from outreach.models import Campaign
from probes.feed_import import FeedPreview, feed_import, feed_preview
from probes.feeds import FeedError
from probes.models import Feed

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _folder() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "feed-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(token: str, suffix: str) -> Path:
    # The token comes back from the browser: never let it name another file.
    if not _TOKEN.match(token):
        raise FeedError("unknown upload")
    return _folder() / f"{token}{suffix}"


def uploads_purge(*, max_age_seconds: int = 24 * 3600) -> int:
    """Delete uploads (and their progress) nobody committed or looked at for a day."""
    cutoff = time.time() - max_age_seconds
    removed = 0
    for path in _folder().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def upload_exists(token: str) -> bool:
    try:
        return _path(token, ".upload").exists()
    except FeedError:
        return False


def upload_save(*, chunks: Iterable[bytes]) -> str:
    """Store an uploaded file; returns its token. Raises FeedError over the size cap."""
    token = secrets.token_urlsafe(24)
    path = _path(token, ".upload")
    size = 0
    with path.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > settings.FEED_MAX_BYTES:
                out.close()
                path.unlink()
                raise FeedError(
                    f"the file is larger than the {settings.FEED_MAX_BYTES:,} byte limit"
                )
            out.write(chunk)
    return token


def upload_preview(*, token: str, feed: Feed, fmt: str = "", ip_column: str = "") -> FeedPreview:
    with _path(token, ".upload").open("rb") as stream:
        return feed_preview(feed=feed, stream=stream, fmt=fmt, ip_column=ip_column)


def upload_status(token: str) -> dict | None:
    try:
        return json.loads(_path(token, ".json").read_text())
    except (FeedError, OSError, ValueError):
        return None


def _status_write(token: str, status: dict) -> None:
    path = _path(token, ".json")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(status))
    temporary.replace(path)


def upload_import(
    *,
    token: str,
    feed: Feed,
    fmt: str = "",
    ip_column: str = "",
    campaign: Campaign | None = None,
    snapshot: bool = False,
) -> dict:
    """Import a stored upload (one transaction), recording progress; then delete the file."""
    _status_write(token, {"state": "running", "lines": 0, "feed": feed.name})
    path = _path(token, ".upload")
    try:
        with path.open("rb") as stream:
            summary = feed_import(
                feed=feed,
                stream=stream,
                source=f"upload {token[:8]}",
                fmt=fmt,
                ip_column=ip_column,
                campaign=campaign,
                snapshot=snapshot,
                progress=lambda lines: _status_write(
                    token, {"state": "running", "lines": lines, "feed": feed.name}
                ),
            )
    except FeedError as exc:
        status = {"state": "failed", "error": str(exc), "feed": feed.name}
    else:
        status = {"state": "done", "summary": summary.as_dict(), "feed": feed.name}
    finally:
        path.unlink(missing_ok=True)
    _status_write(token, status)
    return status
