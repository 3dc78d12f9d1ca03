"""Relay verification: probe hosts, record the verdicts, move the hosts' status.

The status rules themselves (which verdict moves a host where) live in
``probes.status``; fanning batches out to the workers is in ``probes.tasks``
and a whole run that waits for them in ``probes.verify_run``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime
from typing import TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outreach.models import Host
from probes import smtp
from probes.models import Probe
from probes.smtp import ProbeResult, ProbeSettings, Target
from probes.status import host_status_next
from probes.targets import Guard, lab_map_load

log = logging.getLogger(__name__)


def probe_settings_build(*, all_tests: bool = False) -> ProbeSettings:
    return ProbeSettings(
        helo_name=settings.PROBE_HELO_NAME,
        sender=settings.PROBE_MAIL_FROM,
        rcpt_domain=settings.PROBE_RCPT_DOMAIN,
        deadline=settings.PROBE_DEADLINE,
        read_timeout=settings.PROBE_READ_TIMEOUT,
        transcript_limit=settings.PROBE_TRANSCRIPT_LIMIT,
        all_tests=all_tests,
        pipelining=settings.PROBE_PIPELINING,
    )


def guard_build() -> Guard:
    """The safety guard from settings; the lab map only ever applies in lab mode."""
    lab_map = None
    if settings.LAB_MODE and settings.LAB_HOST_MAP:
        lab_map = lab_map_load(settings.LAB_HOST_MAP)
    return Guard(
        allowed=settings.PROBE_ALLOWED_NETWORKS,
        never_contact=settings.NEVER_CONTACT_NETWORKS,
        lab_map=lab_map,
    )


def targets_probe(
    *,
    addresses: list[tuple[str, int]],
    all_tests: bool = False,
    concurrency: int | None = None,
) -> list[ProbeResult]:
    """Probe (ip, port) pairs directly, without hosts in the database (``--target``).

    The same guard applies: a refused address comes back as 'skipped'.
    """
    guard = guard_build()
    planned = [guard.target(ip, port) for ip, port in addresses]
    return _probe_planned(planned, all_tests=all_tests, concurrency=concurrency)


class VerifyOptions(TypedDict, total=False):
    """How to probe hosts, passed as they are by whoever queues ``hosts_verify``."""

    port: int
    all_tests: bool
    concurrency: int | None


def hosts_verify(
    *,
    host_ids: list[int],
    port: int = 25,
    all_tests: bool = False,
    concurrency: int | None = None,
) -> list[ProbeResult]:
    """Probe these hosts now, write a Probe row each and update the hosts in bulk.

    Hosts the guard refuses are not touched and come back as 'skipped'. A host
    that was an open relay (or already fixed) and now refuses to relay becomes
    FIXED: that is how remediation measures fixes.
    """
    hosts = list(Host.objects.filter(id__in=host_ids).only("id", "ip", "asn"))
    guard = guard_build()
    planned = [guard.target(h.ip, port, asn=h.asn, host_id=h.id) for h in hosts]
    results = _probe_planned(planned, all_tests=all_tests, concurrency=concurrency)
    host_verdicts_record(results=[r for r in results if r.verdict != smtp.SKIPPED])
    return results


def _probe_planned(
    planned: list[Target | ProbeResult], *, all_tests: bool, concurrency: int | None
) -> list[ProbeResult]:
    targets = [p for p in planned if isinstance(p, Target)]
    probed = iter(smtp.run_sync(_probe_with_dns(targets, all_tests, concurrency)))
    return [p if isinstance(p, ProbeResult) else next(probed) for p in planned]


async def _probe_with_dns(
    targets: list[Target], all_tests: bool, concurrency: int | None
) -> list[ProbeResult]:
    politeness = smtp.Politeness(
        per_network=settings.PROBE_PER_NETWORK,
        per_asn=settings.PROBE_PER_ASN,
        rate=settings.PROBE_RATE,
    )
    probing = smtp.probe_many(
        targets,
        probe_settings_build(all_tests=all_tests),
        concurrency=concurrency or settings.PROBE_CONCURRENCY,
        politeness=politeness,
    )
    if not settings.PROBE_DNS_RESOLVER:
        return await probing
    results, evidence = await asyncio.gather(probing, _dns_many(targets))
    for result, found in zip(results, evidence, strict=True):
        result.evidence = found
    return results


async def _dns_many(targets: list[Target]) -> list[dict]:
    # dnspython is loaded only when DNS evidence is on: verify_relays starts faster.
    from probes import dns

    resolver = dns.resolver_make(settings.PROBE_DNS_RESOLVER)
    limit = asyncio.Semaphore(50)

    async def one(ip: str) -> dict:
        async with limit:
            return await dns.dns_evidence(ip, resolver=resolver, zones=settings.DNSBL_ZONES)

    return await asyncio.gather(*(one(t.ip) for t in targets))


@transaction.atomic
def host_verdicts_record(*, results: list[ProbeResult]) -> None:
    """Write one Probe per result and update the hosts' status, in bulk.

    Hosts are updated with one UPDATE per (new status, verdict) pair, a
    handful per batch: Django's bulk_update writes a CASE per row and field,
    which cost more than the probing itself.
    """
    now = timezone.now()
    by_id = {r.host_id: r for r in results if r.host_id is not None}
    current = Host.objects.select_for_update().filter(id__in=by_id).values_list("id", "status")
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for host_id, status in current:
        verdict = by_id[host_id].verdict
        groups[(host_status_next(status, verdict), verdict)].append(host_id)
    for (status, verdict), ids in groups.items():
        hosts = Host.objects.filter(id__in=ids)
        hosts.update(status=status, last_verdict=verdict, last_probed_at=now)
        if status == Host.Status.FIXED:
            hosts.filter(fixed_at__isnull=True).update(fixed_at=now)
        elif status == Host.Status.OPEN_RELAY:
            # A relay that opened again is no longer fixed.
            hosts.filter(fixed_at__isnull=False).update(fixed_at=None)
    _host_ptrs_record(by_id)
    Probe.objects.bulk_create([_probe_row(r, now) for r in by_id.values()], batch_size=500)


def _host_ptrs_record(by_id: dict[int, ProbeResult]) -> None:
    named = [
        Host(id=host_id, ptr=str(r.evidence["ptr"])[:255])
        for host_id, r in by_id.items()
        if r.evidence.get("ptr")
    ]
    if named:
        Host.objects.bulk_update(named, ["ptr"], batch_size=500)


def _probe_row(result: ProbeResult, now: datetime) -> Probe:
    return Probe(
        host_id=result.host_id,
        port=result.port,
        started_at=result.started_at,
        finished_at=now,
        verdict=result.verdict,
        tests_passed=result.tests_passed,
        starttls=result.starttls,
        banner=result.banner[:1000],
        transcript=result.transcript,
        error=result.error,
        dns=result.evidence,
    )


def temp_retry_delay(attempt: int) -> int:
    """Seconds before greylisted hosts are tried again, doubling each attempt.

    Kept under the broker's visibility timeout, or Redis would deliver the
    delayed task twice.
    """
    delay = settings.PROBE_TEMP_RETRY_DELAY * 2**attempt
    return min(delay, settings.CELERY_VISIBILITY_TIMEOUT - 60)
