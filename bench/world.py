"""The benchmarks' shared world: a campaign of probed open relays, one contact each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def relay_campaign_create(
    slug: str, agency: Any, count: int, *, email: Callable[[int], str], net: str, **probe: Any
) -> Any:
    """A campaign with ``count`` contacts (languages round robin), one open relay each.

    ``email(n)`` names the n-th contact; its relay is ``2001:db8:<net>:…``, so
    each benchmark keeps to addresses of its own. ``probe`` holds the fields of
    each relay's open-relay probe beyond its verdict. Call it inside a
    transaction: a half-built world is worse than none.
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
        Host(
            ip=f"2001:db8:{net}:{n // 65536:x}::{n % 65536:x}",
            status=Host.Status.OPEN_RELAY,
            contact=c,
        )
        for n, c in enumerate(contacts)
    )
    campaign.hosts.add(*hosts)
    Probe.objects.bulk_create(
        Probe(host=h, verdict="open_relay", tests_passed=[1], **probe) for h in hosts
    )
    return campaign
