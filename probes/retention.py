"""Retention: old probes are purged by one service, with an audit entry, never by hand.

A host's latest probe and its latest proof of relaying (the probe letters
quote) are always kept, however old.
"""

from __future__ import annotations

from datetime import timedelta

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from outreach.lib.verdict_names import OPEN_RELAY
from probes.models import Probe


def probes_purgeable(*, days: int) -> object:
    """Probes started more than ``days`` ago that are neither the host's latest
    probe nor its latest open_relay probe."""
    cutoff = timezone.now() - timedelta(days=days)
    newer = Probe.objects.filter(host=OuterRef("host"), started_at__gt=OuterRef("started_at"))
    newer_proof = newer.filter(verdict=OPEN_RELAY)
    latest_proof = Q(verdict=OPEN_RELAY) & ~Q(Exists(newer_proof))
    return Probe.objects.filter(started_at__lt=cutoff).filter(Exists(newer)).exclude(latest_proof)


@transaction.atomic
def probes_purge(*, days: int | None = None) -> int:
    """Delete probes older than ``days`` (default ``PROBE_RETENTION_DAYS``; 0 keeps
    everything) and record one audit entry saying how many and up to when."""
    days = settings.PROBE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    purgeable = probes_purgeable(days=days)
    count = purgeable.count()
    if not count:
        return 0
    Probe.objects.filter(pk__in=purgeable.values("pk")).delete()
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Probe),
        object_pk="retention",
        object_repr=f"{count} probes older than {days} days",
        action=LogEntry.Action.DELETE,
        changes={"deleted": [str(count), "0"]},
        additional_data={"event": "retention_purge", "days": days, "count": count},
    )
    return count
