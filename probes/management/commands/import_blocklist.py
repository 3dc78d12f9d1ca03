"""python manage.py import_blocklist PATH_OR_URL [...] --feed NAME [--json]

Each file is imported in its own transaction: a file that fails is reported
and commits nothing, and the others still import. The exit status is 1 when
any file failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from outreach.commands import OutreachCommand, campaign_by_slug
from outreach.models import Campaign
from probes.feed_import import ImportSummary, feed_import_source
from probes.feeds import FORMATS, FeedError
from probes.models import Feed


class Command(OutreachCommand):
    help = "Import suspected relays from blocklist files or http(s) URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
        parser.add_argument("--feed", required=True, help="Feed name (created if new).")
        parser.add_argument("--format", default="", choices=["", "auto", *FORMATS])
        parser.add_argument("--ip-column", default="", help="CSV column name or 1-based number.")
        parser.add_argument("--campaign", default="", help="Add the hosts to this campaign (slug).")
        parser.add_argument(
            "--host-list",
            action="store_true",
            help="Mark the feed as a host list (its small networks expand into hosts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        feed = self._feed(options)
        campaign = self._campaign(options["campaign"])
        done: list[ImportSummary] = []
        for source in options["sources"]:
            try:
                done.append(self._import(feed, source, campaign, options))
            except FeedError as exc:
                self._report_error(source, exc)
                continue
            self._report(done[-1])
        failed = len(options["sources"]) - len(done)
        self.summary({"feed": feed.name, "files": len(done), "failed": failed} | _totals(done))
        if failed:
            raise CommandError(f"{failed} of {len(options['sources'])} files failed", returncode=1)

    def _feed(self, options: dict) -> Feed:
        name = options["feed"]
        feed, created = Feed.objects.get_or_create(
            name=name,
            defaults={"format": options["format"] or "auto", "is_host_list": options["host_list"]},
        )
        if created:
            self.note(f"Created feed {name!r}.")
        if options["host_list"] and not feed.is_host_list:
            feed.is_host_list = True
            feed.save(update_fields=["is_host_list"])
        return feed

    def _campaign(self, slug: str) -> Campaign | None:
        if not slug:
            return None
        return campaign_by_slug(slug)

    def _import(self, feed: Feed, source: str, campaign: Campaign | None, options: dict) -> Any:
        with self.progress(desc=source[-40:], unit=" lines", unit_scale=True) as bar:
            return feed_import_source(
                feed=feed,
                source=source,
                fmt=options["format"],
                ip_column=options["ip_column"],
                campaign=campaign,
                progress=lambda lines: bar.update(lines - bar.n),
            )

    def _report(self, summary: ImportSummary) -> None:
        if summary.not_modified:
            self.record(summary.as_dict(), f"{summary.source}: not modified since the last import.")
            return
        rejected = ", ".join(f"{k} {v}" for k, v in summary.rejected.items()) or "none"
        self.record(
            summary.as_dict(),
            f"{summary.source} ({summary.format}): {summary.lines} lines, "
            f"{summary.accepted} accepted, {summary.new_hosts} new hosts, "
            f"{summary.updated_hosts} updated, {summary.duplicates} duplicates, "
            f"{summary.networks} networks ({summary.expanded_networks} expanded into "
            f"{summary.expanded_hosts} hosts, {summary.expansions_skipped} left unexpanded), "
            f"{summary.removed_listings} listings removed; "
            f"rejected: {rejected}; {summary.seconds:.2f} s",
        )

    def _report_error(self, source: str, exc: FeedError) -> None:
        if self.as_json:
            self.record({"source": source, "error": str(exc)})
        else:
            self.stderr.write(f"{source}: {exc} (nothing from this file was imported)")


def _totals(summaries: list[ImportSummary]) -> dict[str, int]:
    """The counts of every file's summary, added up."""
    keys = ("lines", "accepted", "new_hosts", "updated_hosts", "duplicates", "networks")
    return {key: sum(getattr(summary, key) for summary in summaries) for key in keys}
