"""python manage.py receive_mail [--host 127.0.0.1] [--port 2525] [--lmtp].

The optional inbound receiver: an MTA (or the agency's mail server) forwards
replies and bounces here, over SMTP or LMTP, and each one goes to the same
service as files and IMAP.
"""

from __future__ import annotations

import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from letters.inbound import InboundHandler


class LmtpController(Controller):
    def factory(self) -> LMTP:
        return LMTP(self.handler, hostname=self.server_hostname)


class Command(BaseCommand):
    help = "Receive replies and bounces over SMTP or LMTP (aiosmtpd) and store them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = LmtpController if options["lmtp"] else Controller
        controller = kind(
            InboundHandler(),
            hostname=options["host"],
            port=options["port"],
            server_hostname=settings.OUTBOX_LOCAL_HOSTNAME,
            data_size_limit=settings.INBOUND_MAX_BYTES,
        )
        controller.start()
        self.stdout.write(f"receiving mail on {options['host']}:{options['port']}")
        try:
            threading.Event().wait()
        finally:
            controller.stop()
