"""``verify_relays``: probe suspected relays now, in-process or through the workers."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult
from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from outreach.commands import OutreachCommand
from outreach.models import Host
from probes import selectors
from probes.targets import TargetError, target_parse
from probes.tasks import hosts_verify_enqueue
from probes.verify import hosts_verify, targets_probe


class Command(OutreachCommand):
    help = "Probe hosts for open relaying (never sends DATA) and record the verdicts."
    # Its start-up is part of every probe run, so no system checks: settings.py
    # already refuses network lists that do not parse, and the URLconf,
    # templates and admin checks are for the processes that serve them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--campaign", metavar="SLUG", help="every host of this campaign")
        which.add_argument("--ip", nargs="+", metavar="IP", help="these known hosts")
        which.add_argument(
            "--target", nargs="+", metavar="HOST[:PORT]", help="probe addresses directly"
        )
        parser.add_argument("--port", type=int, default=25, metavar="N", help="25, 587 or 465")
        parser.add_argument("--concurrency", type=int, default=None, metavar="N")
        parser.add_argument("--all-tests", action="store_true", help="do not stop at a pass")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["concurrency"] is not None and opts["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        if not 0 < opts["port"] < 65536:
            raise CommandError("--port must be from 1 to 65535")
        if opts["target"]:
            addresses = _addresses(opts["target"], opts["port"])
            total, batches = len(addresses), self._targets(addresses, opts)
        else:
            ids = self._host_ids(opts)
            total, batches = len(ids), self._hosts(ids, opts)
        counts: Counter[str] = Counter()
        with self.progress(total=total, unit=" hosts") as bar:
            for rows in batches:
                for row in rows:
                    self.record(row, _text(row))
                    counts[row["verdict"]] += 1
                bar.update(len(rows))
        verdicts = dict(sorted(counts.items()))
        said = ", ".join(f"{k}: {v}" for k, v in verdicts.items()) or "none"
        self.summary(
            {"hosts": counts.total(), "verdicts": verdicts},
            f"{counts.total()} hosts probed ({said})",
        )

    def _targets(self, addresses: list[tuple[str, int]], opts: dict) -> Iterator[list[dict]]:
        size = settings.PROBE_BATCH_SIZE
        for i in range(0, len(addresses), size):
            results = targets_probe(
                addresses=addresses[i : i + size],
                all_tests=opts["all_tests"],
                concurrency=opts["concurrency"],
            )
            yield [r.as_json() for r in results]

    def _host_ids(self, opts: dict) -> list[int]:
        if opts["campaign"]:
            ids = selectors.campaign_host_ids(opts["campaign"])
            if not ids:
                raise CommandError(
                    f"campaign {opts['campaign']!r} has no hosts (or does not exist)"
                )
            return ids
        ips = [_address(ip) for ip in opts["ip"]]
        found = dict(Host.objects.filter(ip__in=ips).values_list("ip", "id"))
        missing = [ip for ip in ips if ip not in found]
        if missing:
            raise CommandError(
                f"not known hosts: {', '.join(missing)} (use --target to probe them)"
            )
        return list(found.values())

    def _hosts(self, ids: list[int], opts: dict) -> Iterator[list[dict]]:
        kwargs = {k: opts[k] for k in ("port", "all_tests", "concurrency")}
        if settings.REDIS_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
            yield from self._through_workers(hosts_verify_enqueue(host_ids=ids, **kwargs))
            return
        size = settings.PROBE_BATCH_SIZE
        for i in range(0, len(ids), size):
            yield [r.as_json() for r in hosts_verify(host_ids=ids[i : i + size], **kwargs)]

    def _through_workers(self, sent: list[AsyncResult]) -> Iterator[list[dict]]:
        wait = settings.CELERY_TASK_TIME_LIMIT + 60
        try:
            for result in sent:
                yield result.get(timeout=wait)
        except CeleryTimeoutError:
            raise CommandError(
                f"no answer from the workers within {wait} s: are they running? "
                "(the batches stay queued and will still be probed)"
            ) from None


def _text(row: dict) -> str:
    passed = ",".join(map(str, row["tests_passed"])) or "-"
    return (
        f"{row['ip']:>39} {row['port']:>5} {row['verdict']:<15} tests {passed:<10} "
        f"{row['seconds']:6.2f}s {row['error'][:80]}"
    )


def _addresses(targets: list[str], port: int) -> list[tuple[str, int]]:
    try:
        return [target_parse(t, port) for t in targets]
    except TargetError as exc:
        raise CommandError(str(exc)) from None


def _address(text: str) -> str:
    """One spelling per address, as hosts are stored (2001:DB8::1 → 2001:db8::1)."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise CommandError(f"--ip {text!r} is not an IP address") from None
