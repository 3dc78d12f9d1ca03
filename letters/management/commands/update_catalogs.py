"""``python manage.py update_catalogs [--check] [--json]``: refresh the catalogs in locale/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from letters.catalogs import catalog_languages, catalog_problems, catalogs_update
from outreach.commands import OutreachCommand


class Command(OutreachCommand):
    help = "Extract the letter strings into locale/ and report untranslated or fuzzy ones."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if anything is missing.")

    def handle(self, *args: Any, **options: Any) -> None:
        locale_dir = Path(settings.BASE_DIR) / "locale"
        catalogs_update(locale_dir=locale_dir)
        problems = 0
        for po_file in sorted(locale_dir.glob("*/LC_MESSAGES/django.po")):
            language = po_file.parent.parent.name
            for problem in catalog_problems(po_file):
                problems += 1
                self.warn(f"{language}: {problem}")
                self.record({"language": language, "problem": problem})
        catalogs = len(catalog_languages())
        self.summary(
            {"catalogs": catalogs, "problems": problems},
            f"{catalogs} catalogs updated, {problems} problems",
        )
        if problems and options["check"]:
            raise CommandError(f"{problems} catalog problem(s)")
