"""``python manage.py update_catalogs [--check] [--json]``: refresh the letter catalogs
(locale/) and the admin catalogs (outreach/locale/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from letters.catalogs import (
    ADMIN_LOCALE,
    admin_catalog_languages,
    admin_catalogs_update,
    catalog_languages,
    catalogs_problems,
    catalogs_update,
)
from outreach.commands import OutreachCommand


class Command(OutreachCommand):
    help = "Extract the letter and admin strings into their catalogs; report what is missing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if anything is missing.")

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        catalogs_update(locale_dir=base / "locale")
        admin_catalogs_update(locale_dir=base / ADMIN_LOCALE)
        problems = 0
        for kind, locale_dir in (("letter", base / "locale"), ("admin", base / ADMIN_LOCALE)):
            for language, found in catalogs_problems(locale_dir).items():
                for problem in found:
                    problems += 1
                    self.warn(f"{kind} {language}: {problem}")
                    self.record({"catalog": kind, "language": language, "problem": problem})
        catalogs = len(catalog_languages()) + len(admin_catalog_languages())
        self.summary(
            {"catalogs": catalogs, "problems": problems},
            f"{catalogs} catalogs updated, {problems} problems",
        )
        if problems and options["check"]:
            raise CommandError(f"{problems} catalog problem(s)")
