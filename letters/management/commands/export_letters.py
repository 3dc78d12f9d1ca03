"""``python manage.py export_letters --campaign SLUG --out PATH [--merged] [--json]``

Writes a ZIP of PDFs (or one merged PDF) with a CSV manifest. Only letters
that were approved (or already exported or sent) are exported.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from letters.exports import EXPORTABLE, letters_export
from letters.languages import supported_languages
from letters.models import Letter
from outreach.commands import OutreachCommand, campaign_by_slug, done_of_total


class Command(OutreachCommand):
    help = "Export a campaign's approved letters as a ZIP of PDFs plus manifest.csv."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--campaign", required=True, help="Campaign slug.")
        parser.add_argument("--agency", help="Only letters signed by this agency code.")
        parser.add_argument("--language", help="Only letters in this language.")
        parser.add_argument("--out", required=True, help="Path of the ZIP to write.")
        parser.add_argument("--merged", action="store_true", help="One PDF for printing.")

    def handle(self, *args: Any, **options: Any) -> None:
        letters = self._letters(options)
        out = Path(options["out"])
        if not out.parent.is_dir():
            raise CommandError(f"Directory {out.parent} does not exist.")
        try:
            with self.progress(unit=" letters") as bar:
                summary = letters_export(
                    letters=letters, out=out, merged=options["merged"], progress=done_of_total(bar)
                )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.summary(asdict(summary), f"{summary.letters} letters written to {summary.path}")

    def _letters(self, options: dict) -> Any:
        campaign = campaign_by_slug(options["campaign"])
        letters = Letter.objects.filter(campaign=campaign, status__in=EXPORTABLE)
        if options["agency"]:
            letters = letters.filter(agency__code=options["agency"])
        if options["language"]:
            if options["language"] not in supported_languages():
                raise CommandError(f"{options['language']!r} is not a letter language.")
            letters = letters.filter(language=options["language"])
        letters = letters.select_related("campaign", "agency", "contact").order_by(
            "agency__code", "id"
        )
        if not letters.exists():
            raise CommandError("No approved letter matches.")
        return letters
