"""The letter catalogs in ``locale/``: update them and check they are complete.

Only the recipient-facing sources go into these catalogs (the letter
templates and the ``letters`` modules). Running ``makemessages`` over the
whole project would pull in every admin label as an untranslated string;
investigators work in English and Django translates its own admin.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils.translation import to_locale

# Relative to BASE_DIR. The recipient page (issue 10) appends its templates here.
CATALOG_SOURCES: tuple[str, ...] = (
    "letters/render.py",
    "letters/partners.py",
    "letters/evidence.py",
    "letters/languages.py",
    "templates/letters",
    "letters/recipient.py",
    "letters/forms.py",
    "letters/views.py",
    "templates/recipient",
)
SOURCE_LANGUAGE = "en"


def catalog_languages() -> list[str]:
    """Every letter language except the source language has a catalog."""
    return [code for code, _name in settings.LANGUAGES if code != SOURCE_LANGUAGE]


def catalogs_update(*, locale_dir: Path, languages: list[str] | None = None) -> None:
    """Run makemessages over CATALOG_SOURCES only, writing into ``locale_dir``."""
    locales = [to_locale(code) for code in (languages or catalog_languages())]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for source in CATALOG_SOURCES:
            (root / source).parent.mkdir(parents=True, exist_ok=True)
            (root / source).symlink_to(Path(settings.BASE_DIR) / source)
        with override_settings(LOCALE_PATHS=[str(locale_dir)]), contextlib.chdir(root):
            call_command(
                "makemessages",
                locale=locales,
                symlinks=True,
                no_obsolete=True,
                add_location="file",
                verbosity=0,
            )


def catalog_problems(po_file: Path) -> list[str]:
    """Untranslated or fuzzy entries, and msgfmt --check errors, of one catalog."""
    problems = []
    for flag, label in (("--untranslated", "untranslated"), ("--only-fuzzy", "fuzzy")):
        out = _run(["msgattrib", flag, "--no-obsolete", str(po_file)])
        problems += [f"{label}: {line}" for line in out.splitlines() if line.startswith("msgid ")]
    # The header entry has msgid ""; it is not a problem.
    problems = [p for p in problems if not p.endswith('msgid ""')]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["msgfmt", "--check", "-o", "/dev/null", str(po_file)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        problems.append(f"msgfmt --check: {result.stderr.strip()}")
    return problems


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603
