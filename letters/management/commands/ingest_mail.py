"""python manage.py ingest_mail PATH... (mbox files, Maildir folders, .eml files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from letters.inbound import InboundError, mail_paths_ingest


class Command(BaseCommand):
    help = "Store replies and bounces from mbox, Maildir or .eml files (one transaction per file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = mail_paths_ingest(paths=options["paths"])
        except InboundError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"stored {report.stored} ({report.matched} matched to a letter, "
                f"{report.unparsable} unparsable, kept raw), {report.duplicates} already stored"
            )
        )
