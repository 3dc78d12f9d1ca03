"""Find the abuse contact and agency of hosts: ``lookup_contacts --ip IP --json``."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError

from outreach.models import Campaign, Host
from probes.contacts import contacts_lookup, hosts_ensure
from probes.tasks_rdap import BATCH

FIELDS = ("ip", "network", "contact", "rule", "confidence", "agency")


class Command(BaseCommand):
    help = "Look up the networks, abuse contacts and agencies of hosts through RDAP."

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--campaign", help="every verified open relay of this campaign")
        group.add_argument("--ip", nargs="+", help="these addresses (hosts are created)")
        parser.add_argument(
            "--all-hosts", action="store_true", help="with --campaign: not only verified relays"
        )
        parser.add_argument("--json", action="store_true", help="one JSON object per host")

    def handle(self, *args: object, **options: object) -> None:
        host_ids, campaign_id = self._hosts(options)
        hosts = waiting = 0
        if options["json"]:
            self.stdout.write("[", ending="")
        for row in self._rows(host_ids, campaign_id):
            if options["json"]:
                obj = {key: row[key] for key in FIELDS} | _error(row)
                separator = "," if hosts else ""
                self.stdout.write(separator + "\n" + json.dumps(obj, ensure_ascii=False), ending="")
            else:
                self.stdout.write(_line(row))
            hosts += 1
            waiting += bool(row.get("retry"))
        if options["json"]:
            self.stdout.write("\n]")
        else:
            self.stdout.write(f"{hosts} hosts, {waiting} waiting for a registry.")

    def _rows(self, host_ids: list[int], campaign_id: int | None) -> Iterator[dict]:
        # In batches, as the tasks do: a campaign can hold a million hosts.
        for start in range(0, len(host_ids), BATCH):
            batch = host_ids[start : start + BATCH]
            yield from contacts_lookup(host_ids=batch, campaign_id=campaign_id)

    def _hosts(self, options: dict) -> tuple[list[int], int | None]:
        if options["ip"]:
            try:
                return hosts_ensure(ips=options["ip"]), None
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        campaign = Campaign.objects.filter(slug=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign {options['campaign']!r}.")
        hosts = Host.objects.filter(campaigns=campaign)
        if not options["all_hosts"]:
            hosts = hosts.filter(status=Host.Status.OPEN_RELAY)
        return list(hosts.order_by("ip").values_list("id", flat=True)), campaign.id


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
