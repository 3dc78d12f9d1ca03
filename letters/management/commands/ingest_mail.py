"""python manage.py ingest_mail PATH... [--json] (mbox files, Maildir folders, .eml files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from letters.inbound import InboundError, IngestReport, mail_paths_ingest
from outreach.commands import OutreachCommand


class Command(OutreachCommand):
    help = "Store replies and bounces from mbox, Maildir or .eml files (one transaction per file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        total = IngestReport()
        with self.progress(unit=" messages") as bar:
            # One file a call (each file is its own transaction anyway): a
            # record a file, and the files before a bad one stay stored.
            for path in options["paths"]:
                try:
                    report = mail_paths_ingest(paths=[path], progress=lambda _: bar.update(1))
                except InboundError as error:
                    raise CommandError(str(error)) from error
                self.record({"path": str(path)} | report.figures())
                total.update(report)
        self.summary(total.figures(), self.style.SUCCESS(_text(total)))


def _text(report: IngestReport) -> str:
    return (
        f"stored {report['stored']} ({report['matched']} matched to a letter, "
        f"{report['unparsable']} unparsable, kept raw), {report['duplicates']} already stored"
    )
