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
from typing import Unpack

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from probes import addresses
from probes.feed_import import FeedPreview, ImportOptions, feed_import, feed_preview
from probes.feeds import (
    EXCLUDED,
    HOST,
    NETWORK,
    NETWORK_TOO_LARGE,
    TOO_LONG,
    UNPARSABLE,
    FeedError,
)
from probes.models import Feed

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

# What the upload pages call an import summary's figures (probes.feed_import)
# and the refusal codes it counts; the codes stay in the stored summary.
SUMMARY_LABELS = {
    "feed": _("Feed"),
    "source": _("Source"),
    "format": _("Format"),
    "detected_by": _("Decided by"),
    "lines": _("Lines"),
    "accepted": _("Accepted"),
    "new_hosts": _("New hosts"),
    "updated_hosts": _("Hosts already known (updated)"),
    "duplicates": _("Duplicates"),
    "networks": _("Networks"),
    "expanded_networks": _("Networks expanded into hosts"),
    "expanded_hosts": _("Hosts from expanded networks"),
    "expansions_skipped": _("Networks not expanded (limit reached)"),
    "removed_listings": _("Listings marked removed"),
    "rejected": _("Rejected"),
    "not_modified": _("Not modified since the last fetch"),
    "seconds": _("Seconds"),
}
REJECTION_LABELS = {
    UNPARSABLE: _("unparsable"),
    TOO_LONG: _("line too long"),
    EXCLUDED: _("rbldnsd exclusion"),
    NETWORK_TOO_LARGE: _("network too large"),
    addresses.NON_GLOBAL: _("not a public address"),
    addresses.NEVER_CONTACT: _("on the never-contact list"),
}

KIND_LABELS = {HOST: _("host"), NETWORK: _("network")}


def rejection_label(code: str) -> str:
    return str(REJECTION_LABELS.get(code, code))


def rejections_shown(rejected: dict[str, int]) -> list[tuple[str, int]]:
    """(label, count) of an import's or a preview's refusals, for a page."""
    return [(rejection_label(code), count) for code, count in rejected.items()]


def preview_shown(preview: FeedPreview) -> dict:
    """A preview's rows, refusals and refused lines with their codes in words."""
    return {
        "rejected": rejections_shown(preview.tally.rejected),
        "rows": [
            (line, str(KIND_LABELS.get(kind, kind)), key, reason)
            for line, kind, key, reason in preview.rows
        ],
        "refused": [
            (line, rejection_label(reason), text) for line, reason, text in preview.rejected_lines
        ],
    }


def summary_shown(summary: dict) -> list[tuple[str, str, object]]:
    """(key, label, value) rows of an import summary for its page; the refusals
    come as (label, count) pairs."""
    rows = []
    # In the labels' order (the file, then what was done to it), whatever order
    # the stored summary lists its fields in.
    order = {key: place for place, key in enumerate(SUMMARY_LABELS)}
    for key, value in sorted(summary.items(), key=lambda item: order.get(item[0], len(order))):
        shown = rejections_shown(value) if key == "rejected" else value
        rows.append((key, str(SUMMARY_LABELS.get(key, key)), shown))
    return rows


def _folder() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "feed-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(token: str, suffix: str) -> Path:
    # The token comes back from the browser: never let it name another file.
    if not _TOKEN.match(token):
        raise FeedError(gettext("unknown upload"))
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
                message = gettext("the file is larger than the %(limit)s byte limit")
                raise FeedError(message % {"limit": f"{settings.FEED_MAX_BYTES:,}"})
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


def upload_import(*, token: str, feed: Feed, **options: Unpack[ImportOptions]) -> dict:
    """Import a stored upload (one transaction), recording progress; then delete the file.

    An upload only adds to the feed unless ``snapshot`` says it is the whole feed.
    """
    options.setdefault("snapshot", False)
    campaign = options.get("campaign")
    _status_write(token, {"state": "running", "lines": 0, "feed": feed.name})
    path = _path(token, ".upload")
    try:
        with path.open("rb") as stream:
            summary = feed_import(
                feed=feed,
                stream=stream,
                source=f"upload {token[:8]}",
                progress=lambda lines: _status_write(
                    token, {"state": "running", "lines": lines, "feed": feed.name}
                ),
                **options,
            )
    except FeedError as exc:
        status = {"state": "failed", "error": str(exc), "feed": feed.name}
    else:
        status = {
            "state": "done",
            "summary": summary.as_dict(),
            "feed": feed.name,
            # The result page's next steps open this campaign's hosts.
            "campaign": campaign.pk if campaign else None,
        }
    finally:
        path.unlink(missing_ok=True)
    _status_write(token, status)
    return status
