"""Resolving a contact dispute: the investigator picks whom to write to."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from outreach.audit import audit_event, audit_update
from outreach.models import Host
from probes.contacts import Router, campaign_for_hosts, contact_ensure
from probes.models import ContactDispute


class DisputeError(ValueError):
    """A choice we refuse (not a candidate, already resolved)."""


@transaction.atomic
def contact_dispute_resolve(*, dispute_id: int, email: str, actor: Any) -> int:
    """Move the network's hosts to ``email`` (one of the candidates); returns how many.

    The network's candidates get the choice first, so later lookups and
    bounce fallbacks keep it; every host changed and the dispute itself are
    recorded in the audit log.
    """
    dispute = (
        ContactDispute.objects.select_for_update().select_related("network").get(id=dispute_id)
    )
    if dispute.status != ContactDispute.Status.OPEN:
        raise DisputeError(gettext("this dispute is already resolved"))
    chosen = next((c for c in dispute.candidates if c.get("email") == email), None)
    if chosen is None:
        raise DisputeError(gettext("%(email)r is not one of the candidates") % {"email": email})
    network = dispute.network
    choice = chosen | {"rule": "investigator", "confidence": 1.0, "chosen_from": chosen["rule"]}
    network.contact_candidates = [choice] + [
        c for c in network.contact_candidates if c.get("email") != email
    ]
    network.save(update_fields=["contact_candidates"])
    hosts = Host.objects.filter(network=network)
    router = Router.for_campaign(
        campaign_for_hosts(list(hosts.values_list("id", flat=True)[:1000]))
    )
    contact = contact_ensure(
        email=email,
        country=network.country,
        agency=router.agency_for(network.country),
        organisation=network.name,
    )
    moved = audit_update(
        actor=actor,
        queryset=hosts,
        event="contact_chosen",
        note=f"dispute {dispute.id}",
        contact_id=contact.id,
        contact_rule="investigator",
        contact_confidence=1.0,
    )
    dispute.status, dispute.chosen_email = ContactDispute.Status.RESOLVED, email
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "chosen_email", "resolved_at"])
    audit_event(actor=actor, obj=dispute, event="dispute_resolved", note=email)
    return moved
