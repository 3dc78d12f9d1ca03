"""Reads the letter stage reuses: a letter's hosts with their latest probe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from probes import verdicts
from probes.models import Probe

if TYPE_CHECKING:
    from letters.models import Letter
    from outreach.models import Host

# A letter lists every host; beyond this many the table stops and says how
# many were left out, so one huge contact cannot make a 500-page PDF.
MAX_LISTED_HOSTS = 200


@dataclass(frozen=True)
class HostEvidence:
    ip: str
    verdict: str
    verified_at: datetime | None
    tests_passed: list
    transcript: str


def letter_evidence(letter: Letter) -> tuple[list[HostEvidence], int]:
    """The letter's hosts (by address) with their latest probe, and the total count."""
    hosts = list(letter.hosts.order_by("ip")[:MAX_LISTED_HOSTS])
    total = letter.hosts.count() if len(hosts) == MAX_LISTED_HOSTS else len(hosts)
    latest: dict[int, Probe] = {}
    proof: dict[int, Probe] = {}
    probes = Probe.objects.filter(host__in=[h.pk for h in hosts]).order_by("host_id", "-started_at")
    for probe in probes.only(
        "host_id", "verdict", "finished_at", "started_at", "tests_passed", "transcript"
    ):
        latest.setdefault(probe.host_id, probe)
        if probe.verdict == Probe.Verdict.OPEN_RELAY:
            proof.setdefault(probe.host_id, probe)
    return [_evidence(host, _shown(host, latest, proof)) for host in hosts], total


def _shown(host: Host, latest: dict[int, Probe], proof: dict[int, Probe]) -> Probe | None:
    """The latest probe, unless it proved nothing about a known open relay:
    then the latest proof of relaying, which still stands."""
    probe = latest.get(host.pk)
    if probe is not None and verdicts.retest_inconclusive(host.status, probe.verdict):
        return proof.get(host.pk, probe)
    return probe


def _evidence(host: object, probe: Probe | None) -> HostEvidence:
    if probe is None:
        return HostEvidence(host.ip, host.last_verdict, host.last_probed_at, [], "")
    return HostEvidence(
        host.ip,
        probe.verdict,
        probe.finished_at or probe.started_at,
        list(probe.tests_passed or []),
        probe.transcript,
    )
