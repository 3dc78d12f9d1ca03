"""``python manage.py update_catalogs``: refresh the letter catalogs in locale/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from letters.catalogs import catalog_languages, catalog_problems, catalogs_update


class Command(BaseCommand):
    help = "Extract the letter strings into locale/ and report untranslated or fuzzy ones."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if anything is missing.")

    def handle(self, *args: Any, **options: Any) -> None:
        locale_dir = Path(settings.BASE_DIR) / "locale"
        catalogs_update(locale_dir=locale_dir)
        problems = []
        for po_file in sorted(locale_dir.glob("*/LC_MESSAGES/django.po")):
            problems += [f"{po_file.parent.parent.name}: {p}" for p in catalog_problems(po_file)]
        for problem in problems:
            self.stderr.write(problem)
        if problems and options["check"]:
            raise CommandError(f"{len(problems)} catalog problem(s)")
        self.stdout.write(f"{len(catalog_languages())} catalogs updated, {len(problems)} problems")
