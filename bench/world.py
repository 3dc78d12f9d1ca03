"""The benchmarks' shared world: a campaign of probed open relays, one contact each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def relay_campaign_create(
    *,
    slug: str,
    agency: Any,
    count: int,
    email: Callable[[int], str],
    ip: Callable[[int], str],
    probe: dict[str, Any],
) -> Any:
    """A campaign with ``count`` contacts (languages round robin), one open relay each.

    ``email(n)`` and ``ip(n)`` name the n-th contact and relay; ``probe`` holds
    the fields of each relay's open-relay probe beyond its verdict. Call it
    inside a transaction: a half-built world is worse than none.
    """
    from django.conf import settings

    from outreach.models import Campaign, Contact, Host
    from probes.models import Probe

    languages = [code for code, _name in settings.LANGUAGES]
    campaign = Campaign.objects.create(
        name=slug, slug=slug, lead_agency=agency, instructions_url="https://bench.example/"
    )
    contacts = Contact.objects.bulk_create(
        Contact(email=email(n), organisation=f"ISP {n}", language=languages[n % len(languages)])
        for n in range(count)
    )
    hosts = Host.objects.bulk_create(
        Host(ip=ip(n), status=Host.Status.OPEN_RELAY, contact=c) for n, c in enumerate(contacts)
    )
    campaign.hosts.add(*hosts)
    Probe.objects.bulk_create(
        Probe(host=h, verdict="open_relay", tests_passed=[1], **probe) for h in hosts
    )
    return campaign
