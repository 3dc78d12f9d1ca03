from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from outreach.demo import Demo, campaign_summary
from outreach.services import demo_prepare


class Command(BaseCommand):
    help = "Run a whole demo campaign against the lab, then (with --serve) serve the admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="out", help="Where the PDFs and the list go.")
        # What happens once the campaign is done: handle() does one or the
        # other, so say so in --help and refuse both rather than drop --hold.
        afterwards = parser.add_mutually_exclusive_group()
        afterwards.add_argument("--serve", action="store_true", help="Serve the admin afterwards.")
        afterwards.add_argument(
            "--hold",
            action="store_true",
            help="Keep the lab running until stopped (the production-style run's web serves).",
        )
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where --serve listens.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.LAB_MODE or not settings.LAB_HOST_MAP:
            raise CommandError("The demo runs in lab mode only: set LAB_MODE and LAB_HOST_MAP.")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        campaign, user, password = demo_prepare()
        demo = Demo(out=out, say=self.stdout.write)
        demo.start_lab()
        try:
            demo.run(campaign_slug=campaign.slug, user=user)
            self.summary(demo, campaign.slug, password, options["addrport"])
            if options["serve"]:
                # No autoreloader: the lab, the RDAP simulator and the sink run
                # in this process and must stay up for re-probes from the admin.
                call_command("runserver", options["addrport"], use_reloader=False)
            elif options["hold"]:
                self.stdout.write("The lab stays up for re-probes; stop with Ctrl-C.")
                threading.Event().wait()
        finally:
            demo.stop()

    def summary(self, demo: Demo, slug: str, password: str, addrport: str) -> None:
        total = sum(seconds for _name, _summary, seconds in demo.report.steps)
        self.stdout.write(self.style.SUCCESS(f"\nDemo campaign done in {total:.1f} s:"))
        for label, count in campaign_summary(slug):
            self.stdout.write(f"  {label:<24} {count}")
        self.stdout.write(f"  DATA commands received by lab hosts: {demo.lab.data_attempts()}")
        self.stdout.write(self.style.SUCCESS(f"\nAdmin: http://{addrport}/admin/"))
        self.stdout.write(self.style.SUCCESS(f"Login: investigator / {password}"))
