"""Probe writes: verify hosts over SMTP and record the verdicts in bulk."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from celery.result import AsyncResult
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outreach.models import Host
from probes import dns, smtp
from probes.models import Probe
from probes.smtp import ProbeResult, ProbeSettings, Target
from probes.targets import Guard, lab_map_load

log = logging.getLogger(__name__)

# Verdict → host status. Verdicts not listed (temp_failure, tls_failed,
# protocol_error) say nothing new about the host and leave it as it was.
VERDICT_STATUS = {
    smtp.OPEN_RELAY: Host.Status.OPEN_RELAY,
    smtp.NOT_RELAY: Host.Status.NOT_RELAY,
    smtp.AUTH_REQUIRED: Host.Status.NOT_RELAY,
    smtp.REFUSED: Host.Status.UNREACHABLE,
    smtp.TIMEOUT: Host.Status.UNREACHABLE,
    smtp.NO_SMTP: Host.Status.UNREACHABLE,
}
WAS_RELAY = {Host.Status.OPEN_RELAY, Host.Status.FIXED}


def probe_settings_build(*, all_tests: bool = False) -> ProbeSettings:
    return ProbeSettings(
        helo_name=settings.PROBE_HELO_NAME,
        sender=settings.PROBE_MAIL_FROM,
        rcpt_domain=settings.PROBE_RCPT_DOMAIN,
        deadline=settings.PROBE_DEADLINE,
        read_timeout=settings.PROBE_READ_TIMEOUT,
        transcript_limit=settings.PROBE_TRANSCRIPT_LIMIT,
        all_tests=all_tests,
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
    probed = iter(asyncio.run(_probe_with_dns(targets, all_tests, concurrency)))
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
    resolver = dns.resolver_make(settings.PROBE_DNS_RESOLVER)
    limit = asyncio.Semaphore(50)

    async def one(ip: str) -> dict:
        async with limit:
            return await dns.dns_evidence(ip, resolver=resolver, zones=settings.DNSBL_ZONES)

    return await asyncio.gather(*(one(t.ip) for t in targets))


def host_status_next(current: str, verdict: str) -> str:
    """The host's status after a probe gave this verdict."""
    status = VERDICT_STATUS.get(verdict)
    if status is None:
        return current
    if status == Host.Status.NOT_RELAY and current in WAS_RELAY:
        return Host.Status.FIXED
    return status


@transaction.atomic
def host_verdicts_record(*, results: list[ProbeResult]) -> None:
    """Write one Probe per result and update the hosts' status, in bulk."""
    now = timezone.now()
    by_id = {r.host_id: r for r in results if r.host_id is not None}
    hosts = list(Host.objects.select_for_update().filter(id__in=by_id))
    for host in hosts:
        _host_update(host, by_id[host.id], now)
    Host.objects.bulk_update(
        hosts, ["status", "last_verdict", "last_probed_at", "fixed_at", "ptr"], batch_size=500
    )
    Probe.objects.bulk_create([_probe_row(r, now) for r in by_id.values()], batch_size=500)


def _host_update(host: Host, result: ProbeResult, now: datetime) -> None:
    status = host_status_next(host.status, result.verdict)
    if status == Host.Status.FIXED and host.fixed_at is None:
        host.fixed_at = now
    elif status == Host.Status.OPEN_RELAY:
        host.fixed_at = None  # a relay that opened again is no longer fixed
    host.status = status
    host.last_verdict = result.verdict
    host.last_probed_at = now
    host.ptr = str(result.evidence.get("ptr") or host.ptr)[:255]


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


def hosts_verify_enqueue(
    *, host_ids: list[int], port: int = 25, all_tests: bool = False
) -> list[AsyncResult]:
    """Fan out probe batches to the workers, once the current transaction commits."""
    from probes.tasks import hosts_verify_batch

    size = settings.PROBE_BATCH_SIZE
    batches = [host_ids[i : i + size] for i in range(0, len(host_ids), size)]
    sent: list[AsyncResult] = []
    for batch in batches:
        transaction.on_commit(
            lambda b=batch: sent.append(hosts_verify_batch.delay(b, port=port, all_tests=all_tests))
        )
    # Outside a transaction on_commit runs at once, so the list is complete here.
    return sent


def temp_retry_delay(attempt: int) -> int:
    """Seconds before greylisted hosts are tried again, doubling each attempt.

    Kept under the broker's visibility timeout, or Redis would deliver the
    delayed task twice.
    """
    delay = settings.PROBE_TEMP_RETRY_DELAY * 2**attempt
    return min(delay, settings.CELERY_VISIBILITY_TIMEOUT - 60)
