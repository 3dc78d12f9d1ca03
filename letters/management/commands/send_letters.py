"""``send_letters --campaign SLUG [--agency CODE] [--dry-run] [--limit N] [--json]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from letters.outbox import OutboxError, SendReport, outbox_send
from outreach.commands import OutreachCommand, campaign_by_slug
from outreach.models import Agency


class Command(OutreachCommand):
    help = "Send a campaign's approved letters by email, each exactly once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="Campaign slug.")
        parser.add_argument("--agency", help="Only this signing agency's letters (its code).")
        parser.add_argument("--dry-run", action="store_true", help="Build and preview, send none.")
        parser.add_argument("--limit", type=int, help="Send at most this many letters.")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = campaign_by_slug(options["campaign"])
        agency_id = self._agency_id(options["agency"])
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            with self.progress(total=options["limit"], unit=" letters") as bar:
                report = outbox_send(
                    campaign_id=campaign.id,
                    agency_id=agency_id,
                    limit=options["limit"],
                    dry_run=options["dry_run"],
                    progress=lambda report: _advance(bar, report),
                )
        except OutboxError as error:
            raise CommandError(str(error)) from error
        self._summary(report, options["dry_run"])

    def _agency_id(self, code: str | None) -> int | None:
        if not code:
            return None
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            raise CommandError(f"No agency with code {code!r}.")
        return agency.id

    def _summary(self, report: SendReport, dry_run: bool) -> None:
        if dry_run:
            self.record({"preview": report.preview}, report.preview or "Nothing to send.")
        for error in report.errors:
            self.warn(error)
            self.record({"error": error})
        done = report.outcomes
        self.summary(
            report.figures() | {"dry_run": dry_run},
            self.style.SUCCESS(
                f"sent {done['sent']}, retry later {done['retry']}, failed {done['failed']}, "
                f"deferred by rate limit {done['deferred']}, "
                f"delivery unknown (not resent) {done['unknown']}"
            ),
        )


def _advance(bar: tqdm, report: SendReport) -> None:
    bar.update(report.claimed - bar.n)
    bar.set_postfix_str(f"sent {report.outcomes['sent']}", refresh=False)
