"""The gettext catalogs: update them and check they are complete.

Two catalogs, kept apart because they serve different readers:
- the letter catalogs in ``locale/``: the recipient-facing sources only (the
  letter templates, the recipient page and the ``letters`` modules that write
  to recipients), in every letter language;
- the admin catalogs in ``outreach/locale/``: every other translatable string
  of the project (admin labels, messages, our admin templates), in the admin
  languages (``settings.ADMIN_LANGUAGES``). Django translates its own admin.
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
# The admin catalog takes the translatable strings of these trees, except the
# letter sources above and what only the command line or the schema history
# reads (management commands print English for operators and scripts).
ADMIN_TREES: tuple[str, ...] = ("outreach", "probes", "letters", "templates")
ADMIN_SKIPPED_DIRS = frozenset({"migrations", "management", "__pycache__", "locale"})
ADMIN_LOCALE = "outreach/locale"


def catalog_languages() -> list[str]:
    """Every letter language except the source language has a catalog."""
    return [code for code, _name in settings.LANGUAGES if code != SOURCE_LANGUAGE]


def admin_catalog_languages() -> list[str]:
    return [code for code, _name in settings.ADMIN_LANGUAGES if code != SOURCE_LANGUAGE]


def admin_catalog_sources() -> list[str]:
    """Every .py and .html file of ADMIN_TREES that is not a letter source."""
    base = Path(settings.BASE_DIR)
    letter = [base / source for source in CATALOG_SOURCES]
    found = []
    for tree in ADMIN_TREES:
        for path in sorted((base / tree).rglob("*")):
            if path.suffix not in (".py", ".html") or ADMIN_SKIPPED_DIRS & set(path.parts):
                continue
            if any(path == source or source in path.parents for source in letter):
                continue
            found.append(str(path.relative_to(base)))
    return found


def admin_catalogs_update(*, locale_dir: Path, languages: list[str] | None = None) -> None:
    """Run makemessages over the admin sources, writing into ``locale_dir``."""
    catalogs_update(
        locale_dir=locale_dir,
        languages=languages or admin_catalog_languages(),
        sources=admin_catalog_sources(),
    )


def catalogs_update(
    *,
    locale_dir: Path,
    languages: list[str] | None = None,
    sources: tuple[str, ...] | list[str] = CATALOG_SOURCES,
) -> None:
    """Run makemessages over ``sources`` only (the letter sources by default),
    writing into ``locale_dir``."""
    locales = [to_locale(code) for code in (languages or catalog_languages())]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for source in sources:
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


def catalogs_problems(locale_dir: Path) -> dict[str, list[str]]:
    """Each catalog's problems under ``locale_dir``, by language directory."""
    return {
        po.parent.parent.name: catalog_problems(po)
        for po in sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))
    }


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
