"""python manage.py poll_mailboxes [--agency CODE] [--json]: the IMAP poller, once, without beat."""

from __future__ import annotations

import imaplib
from collections import Counter
from typing import Any

from django.core.management.base import CommandParser

from letters.inbound import IngestReport, mailbox_poll
from letters.models import Mailbox
from outreach.commands import OutreachCommand


class Command(OutreachCommand):
    help = "Fetch unseen replies and bounces from every active agency mailbox (IMAP over TLS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", help="Only this agency's mailboxes (its code).")

    def handle(self, *args: Any, **options: Any) -> None:
        boxes = Mailbox.objects.filter(is_active=True).select_related("agency")
        if options["agency"]:
            boxes = boxes.filter(agency__code=options["agency"])
        total: Counter[str] = Counter(mailboxes=0, failed=0)
        for box in self.progress(boxes, unit=" mailboxes"):
            total["mailboxes"] += 1
            try:
                report = mailbox_poll(mailbox_id=box.id)
            except (OSError, imaplib.IMAP4.error) as error:
                # One unreachable mailbox must not stop the others.
                total["failed"] += 1
                self._failed(box, error)
                continue
            self.record({"mailbox": str(box)} | report.figures(), _text(box, report))
            total.update(report.figures())
        self.summary(dict(total))

    def _failed(self, box: Mailbox, error: Exception) -> None:
        said = f"{type(error).__name__}: {error}"
        self.warn(f"{box}: {said}")
        self.record({"mailbox": str(box), "error": said})


def _text(box: Mailbox, report: IngestReport) -> str:
    line = f"{box}: stored {report['stored']} ({report['matched']} matched)"
    if report["unparsable"] or report["poisoned"]:
        line += f", {report['unparsable']} unparsable, {report['poisoned']} set aside"
    return line
