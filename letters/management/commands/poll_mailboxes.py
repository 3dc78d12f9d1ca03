"""python manage.py poll_mailboxes [--agency CODE]: the IMAP poller, once, without Celery beat."""

from __future__ import annotations

import imaplib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from letters.inbound import mailbox_poll
from letters.models import Mailbox


class Command(BaseCommand):
    help = "Fetch unseen replies and bounces from every active agency mailbox (IMAP over TLS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", help="Only this agency's mailboxes (its code).")

    def handle(self, *args: Any, **options: Any) -> None:
        boxes = Mailbox.objects.filter(is_active=True).select_related("agency")
        if options["agency"]:
            boxes = boxes.filter(agency__code=options["agency"])
        for box in boxes:
            try:
                report = mailbox_poll(mailbox_id=box.id)
            except (OSError, imaplib.IMAP4.error) as error:
                # One unreachable mailbox must not stop the others.
                self.stderr.write(f"{box}: {type(error).__name__}: {error}")
                continue
            line = f"{box}: stored {report.stored} ({report.matched} matched)"
            if report.unparsable or report.poisoned:
                line += f", {report.unparsable} unparsable, {report.poisoned} set aside"
            self.stdout.write(line)
