"""The one for_user() path: investigators see all, partners their own part."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from letters.models import Letter
from outreach.models import Campaign, Host, Membership
from tests.factories import (
    AgencyFactory,
    CampaignFactory,
    HostFactory,
    LetterFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_agencies():
    a, b = AgencyFactory(code="a"), AgencyFactory(code="b")
    campaign = CampaignFactory(lead_agency=a)
    campaign.partners.add(b)
    return a, b, campaign


def test_a_partner_sees_only_its_own_hosts_and_letters(two_agencies):
    a, b, campaign = two_agencies
    HostFactory(agency=a, ip="203.0.113.1")
    HostFactory(agency=b, ip="203.0.113.2")
    LetterFactory(campaign=campaign, agency=a)
    LetterFactory(campaign=campaign, agency=b)
    viewer = MembershipFactory(agency=b, role=Membership.Role.VIEWER).user
    assert list(Host.objects.for_user(viewer).values_list("ip", flat=True)) == ["203.0.113.2"]
    assert set(Letter.objects.for_user(viewer).values_list("agency__code", flat=True)) == {"b"}
    assert list(Campaign.objects.for_user(viewer)) == [campaign]


def test_an_investigator_sees_the_campaigns_their_agency_leads_and_a_superuser_all(two_agencies):
    a, b, campaign = two_agencies
    own, unassigned = HostFactory(agency=a), HostFactory(agency=None)
    partners_in_campaign, partners_elsewhere = HostFactory(agency=b), HostFactory(agency=b)
    campaign.hosts.add(partners_in_campaign)
    foreign = CampaignFactory(lead_agency=b)
    investigator = MembershipFactory(agency=a, role=Membership.Role.INVESTIGATOR).user
    superuser = UserFactory(is_superuser=True)
    seen = set(Host.objects.for_user(investigator))
    assert seen == {own, unassigned, partners_in_campaign}
    assert partners_elsewhere not in seen
    assert set(Campaign.objects.for_user(investigator)) == {campaign}
    assert foreign in Campaign.objects.for_user(superuser)
    assert Host.objects.for_user(superuser).count() == 4


def test_strangers_and_anonymous_users_see_nothing(two_agencies):
    HostFactory(agency=two_agencies[0])
    assert not Host.objects.for_user(UserFactory()).exists()
    assert not Host.objects.for_user(AnonymousUser()).exists()


def test_a_campaign_seen_through_two_paths_is_listed_once(two_agencies):
    a, b, campaign = two_agencies
    user = UserFactory()
    MembershipFactory(user=user, agency=a)
    MembershipFactory(user=user, agency=b)
    assert list(Campaign.objects.for_user(user)) == [campaign]
