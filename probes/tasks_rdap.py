"""Tasks of the contact stage: thin, they take ids and call probes.contacts."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from outreach.models import Campaign, Host

BATCH = 500


class LookupDeferred(Exception):
    """Some hosts wait for a registry (rate limit, outage): run the batch again."""


@shared_task(
    name="probes.contacts_lookup_batch",
    bind=True,
    autoretry_for=(LookupDeferred,),
    retry_backoff=30,
    # Under CELERY_VISIBILITY_TIMEOUT (1800 s), or Redis would deliver it twice.
    retry_backoff_max=1500,
    retry_jitter=True,
    max_retries=10,
    acks_late=True,
)
def contacts_lookup_batch(
    self: object, host_ids: list[int], campaign_id: int | None = None
) -> dict:
    """Look up contacts for one batch of hosts.

    Hosts already done are cache hits on the next run, so retrying the whole
    batch costs only the hosts that waited. In-process (eager) mode never
    retries: a registry outage must not fail the caller.
    """
    # Imported here: the admin imports these tasks, and ipwhois (through
    # probes.contacts) would otherwise load in every process, verify_relays too.
    from probes.contacts import contacts_lookup

    rows = contacts_lookup(host_ids=host_ids, campaign_id=campaign_id)
    deferred = sum(1 for row in rows if row.get("retry"))
    if deferred and not self.request.is_eager:
        raise LookupDeferred(f"{deferred} hosts wait for a registry")
    return {"hosts": len(rows), "deferred": deferred}


@shared_task(name="probes.campaign_contacts_lookup")
def campaign_contacts_lookup(campaign_id: int) -> int:
    """Fan the campaign's verified relays out in batches. Returns the batch count."""
    if not Campaign.objects.filter(id=campaign_id).exists():
        return 0
    ids = list(
        Host.objects.filter(campaigns__id=campaign_id, status=Host.Status.OPEN_RELAY)
        .order_by("ip")
        .values_list("id", flat=True)
    )
    batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
    for batch in batches:
        transaction.on_commit(lambda batch=batch: contacts_lookup_batch.delay(batch, campaign_id))
    return len(batches)
