"""Find the abuse contact and agency of hosts: ``lookup_contacts --ip IP --json``.

Run in-process, it paces itself: it waits on each registry's local limit
(and on a registry's ``Retry-After``) with a progress bar on stderr showing
the requests left per registry and an ETA. Hosts are reported as waiting
only with ``--no-wait`` or when a registry is down.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.core.management.base import CommandError
from tqdm import tqdm

from outreach.commands import OutreachCommand, campaign_by_slug
from outreach.models import Host
from probes.bootstrap import registry_for
from probes.contacts import contacts_lookup, hosts_ensure
from probes.pacing import Pacer, eta_seconds, requests_left
from probes.tasks_rdap import BATCH

FIELDS = ("ip", "network", "contact", "rule", "confidence", "agency")


class Command(OutreachCommand):
    help = "Look up the networks, abuse contacts and agencies of hosts through RDAP."

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--campaign", help="every verified open relay of this campaign")
        group.add_argument("--ip", nargs="+", help="these addresses (hosts are created)")
        parser.add_argument(
            "--all-hosts", action="store_true", help="with --campaign: not only verified relays"
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="report hosts over a local limit as waiting instead of pacing",
        )

    def handle(self, *args: object, **options: object) -> None:
        host_ids, campaign_id = self._hosts(options)
        progress = Progress(host_ids, bar=self.progress(total=len(host_ids), unit=" hosts"))
        pacer = None if options["no_wait"] else Pacer(on_wait=progress.waiting)
        hosts = waiting = 0
        for row in self._rows(host_ids, campaign_id, pacer):
            progress.advance(row, pacer)
            self.record({key: row[key] for key in FIELDS} | _error(row), _line(row))
            hosts += 1
            waiting += bool(row.get("retry"))
        progress.close()
        self.summary(
            {"hosts": hosts, "waiting": waiting},
            f"{hosts} hosts, {waiting} waiting for a registry.",
        )

    def _rows(
        self, host_ids: list[int], campaign_id: int | None, pacer: Pacer | None
    ) -> Iterator[dict]:
        # In batches, as the tasks do: a campaign can hold a million hosts.
        for start in range(0, len(host_ids), BATCH):
            batch = host_ids[start : start + BATCH]
            yield from contacts_lookup(host_ids=batch, campaign_id=campaign_id, pacer=pacer)

    def _hosts(self, options: dict) -> tuple[list[int], int | None]:
        if options["ip"]:
            try:
                return hosts_ensure(ips=options["ip"]), None
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        campaign = campaign_by_slug(options["campaign"])
        hosts = Host.objects.filter(campaigns=campaign)
        if not options["all_hosts"]:
            hosts = hosts.filter(status=Host.Status.OPEN_RELAY)
        return list(hosts.order_by("ip").values_list("id", flat=True)), campaign.id


class Progress:
    """A tqdm bar over the hosts, its postfix the requests left and the ETA."""

    def __init__(self, host_ids: list[int], *, bar: tqdm) -> None:
        ips = Host.objects.filter(id__in=host_ids).values_list("ip", flat=True).iterator()
        self.left = Counter(registry_for(ip) or "other" for ip in ips)
        self.done: Counter = Counter()
        self.bar = bar

    def advance(self, row: dict, pacer: Pacer | None) -> None:
        registry = registry_for(row["ip"]) or "other"
        self.left[registry] -= 1
        self.done[registry] += 1
        self.bar.update(1)
        if pacer is not None:
            self.bar.set_postfix_str(self.summary(pacer), refresh=False)

    def summary(self, pacer: Pacer) -> str:
        left = requests_left(left=self.left, sent=pacer.sent, done=self.done)
        eta = eta_seconds(
            left=self.left, sent=pacer.sent, done=self.done, rates=settings.RDAP_RATE_LIMITS
        )
        parts = ", ".join(f"{registry} {count}" for registry, count in sorted(left.items()))
        return f"requests left: {parts or 'none'}; ETA {eta / 60:.0f} min"

    def waiting(self, registry: str, seconds: float) -> None:
        self.bar.set_description_str(f"waiting {seconds:.0f}s for {registry}")

    def close(self) -> None:
        self.bar.close()


def _error(row: dict) -> dict:
    return {"error": row["error"]} if row.get("error") else {}


def _line(row: dict) -> str:
    if row.get("error"):
        return f"{row['ip']}: {row['error']}"
    confidence = f"{row['confidence']:.2f}" if row["confidence"] is not None else "-"
    return (
        f"{row['ip']}  {row['network']}  {row['contact'] or '(no contact)'}  "
        f"{row['rule'] or '-'} {confidence}  {row['agency'] or '-'}"
    )
