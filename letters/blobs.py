"""A content-addressed file store under the var folder: bytes by SHA-256.

The same bytes are stored once, whoever asks; a file is written to a temporary
name and renamed, so a reader never sees half of one. Filesystem only, no ORM.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from django.conf import settings

_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobMissing(LookupError):
    """No stored bytes for this hash (never stored, or discarded)."""


def blob_path(sha256: str) -> Path:
    if not _SHA256.fullmatch(sha256 or ""):
        raise ValueError("not a SHA-256 hex digest")
    return Path(settings.LETTERS_BLOB_DIR) / sha256[:2] / sha256[2:4] / sha256


def blob_put(data: bytes) -> str:
    """Store ``data`` (once) and return its SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = blob_path(sha256)
    if path.exists():
        return sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return sha256


def blob_get(sha256: str) -> bytes:
    try:
        data = blob_path(sha256).read_bytes()
    except FileNotFoundError as error:
        raise BlobMissing(sha256) from error
    return data


def blob_discard(sha256: str) -> None:
    """Remove the bytes; the caller has made sure nothing else refers to them."""
    blob_path(sha256).unlink(missing_ok=True)
