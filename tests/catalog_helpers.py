"""Checking a catalog directory after makemessages, on a copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from letters.catalogs import catalogs_problems


def problems_after_update(
    locale_dir: Path, update: Callable[..., None], tmp_path: Path
) -> dict[str, list[str]]:
    """Runs ``update`` (makemessages) on a copy of ``locale_dir``, so a test
    never rewrites the real catalogs, and returns each catalog's problems."""
    copy = tmp_path / "locale"
    shutil.copytree(locale_dir, copy, ignore=shutil.ignore_patterns("*.mo"))
    update(locale_dir=copy)
    return catalogs_problems(copy)
