"""The lead-and-partner campaign that the campaign figures and home page count in."""

from __future__ import annotations

from outreach.models import Agency, Campaign
from tests.factories import AgencyFactory, CampaignFactory


def lead_and_partner_campaign(**fields: object) -> tuple[Campaign, Agency, Agency]:
    """A campaign led by FTC (US) that ACCC (AU) takes part in: two agencies in
    two countries, so a test sees both the per-agency scoping and the
    per-country breakdowns. ``fields`` go to the campaign."""
    ftc = AgencyFactory(code="ftc", name="FTC", country="US")
    accc = AgencyFactory(code="accc", name="ACCC", country="AU")
    campaign = CampaignFactory(lead_agency=ftc, **fields)
    campaign.partners.add(accc)
    return campaign, ftc, accc
