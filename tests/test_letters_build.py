from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from letters.build import letter_approve, letter_language_set, letters_build
from letters.models import Letter
from outreach.models import Host, Membership
from tests.factories import (
    AgencyFactory,
    CampaignFactory,
    ContactFactory,
    HostFactory,
    MembershipFactory,
    NetworkFactory,
    UserFactory,
)
from tests.letters_helpers import letter_with_relays

pytestmark = pytest.mark.django_db


def relay(campaign, contact, *, status=Host.Status.OPEN_RELAY, country="US"):
    host = HostFactory(status=status, contact=contact, network=NetworkFactory(country=country))
    campaign.hosts.add(host)
    return host


def test_it_builds_one_letter_per_contact_over_its_open_relays():
    campaign = CampaignFactory()
    first, second = ContactFactory(), ContactFactory()
    hosts = [relay(campaign, first), relay(campaign, first), relay(campaign, second)]
    relay(campaign, first, status=Host.Status.NOT_RELAY)
    HostFactory(status=Host.Status.OPEN_RELAY, contact=first)  # not in this campaign

    summary = letters_build(campaign_id=campaign.pk)

    assert (summary.created, summary.updated) == (2, 0)
    letter = Letter.objects.get(campaign=campaign, contact=first)
    assert set(letter.hosts.all()) == set(hosts[:2])
    assert letter.status == Letter.Status.DRAFT
    assert Letter.objects.get(contact=second).hosts.get() == hosts[2]


def test_it_skips_contacts_who_asked_not_to_be_contacted():
    campaign = CampaignFactory()
    relay(campaign, ContactFactory(do_not_contact=True))
    relay(campaign, None)
    summary = letters_build(campaign_id=campaign.pk)
    assert summary.skipped_do_not_contact == 1
    assert summary.hosts_without_contact == 1
    assert not Letter.objects.exists()


def test_it_signs_with_the_contacts_agency_else_the_lead():
    campaign = CampaignFactory()
    partner = AgencyFactory()
    relay(campaign, ContactFactory(agency=partner, email="a@isp.example"))
    relay(campaign, ContactFactory(email="b@isp.example"))
    letters_build(campaign_id=campaign.pk)
    assert Letter.objects.get(contact__email="a@isp.example").agency == partner
    assert Letter.objects.get(contact__email="b@isp.example").agency == campaign.lead_agency


def test_it_stores_the_language_and_why():
    campaign = CampaignFactory(lead_agency=AgencyFactory(default_language="fr", code="lead"))
    relay(campaign, ContactFactory(email="br@isp.example"), country="BR")
    relay(campaign, ContactFactory(email="own@isp.example", language="ja"), country="BR")
    relay(campaign, ContactFactory(email="be@isp.example", country=""), country="BE")
    letters_build(campaign_id=campaign.pk)
    chosen = {
        letter.contact.email: (letter.language, letter.language_reason)
        for letter in Letter.objects.select_related("contact")
    }
    assert chosen == {
        "br@isp.example": ("pt", "country:BR"),
        "own@isp.example": ("ja", "contact"),
        "be@isp.example": ("fr", "agency:lead"),
    }


def test_it_refreshes_drafts_and_keeps_what_was_approved():
    campaign = CampaignFactory()
    contact, other = ContactFactory(), ContactFactory()
    relay(campaign, contact)
    relay(campaign, other)
    letters_build(campaign_id=campaign.pk)
    Letter.objects.filter(contact=other).update(status=Letter.Status.APPROVED)
    new_host = relay(campaign, contact)
    relay(campaign, other)

    summary = letters_build(campaign_id=campaign.pk)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    assert new_host in Letter.objects.get(contact=contact).hosts.all()
    assert Letter.objects.get(contact=other).hosts.count() == 1
    assert Letter.objects.count() == 2


def test_it_keeps_the_language_an_investigator_chose():
    campaign = CampaignFactory()
    relay(campaign, ContactFactory(), country="BR")
    letters_build(campaign_id=campaign.pk)
    letter = Letter.objects.get()
    user = UserFactory(is_superuser=True)
    letter_language_set(letter_id=letter.pk, language="es", user=user)
    letters_build(campaign_id=campaign.pk)
    letter.refresh_from_db()
    assert (letter.language, letter.language_reason) == ("es", "investigator")


def test_it_refuses_a_language_that_is_not_a_letter_language():
    letter = letter_with_relays()
    with pytest.raises(ValidationError):
        letter_language_set(letter_id=letter.pk, language="xx", user=UserFactory(is_superuser=True))


def approver(agency):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="approve_letter"))
    MembershipFactory(user=user, agency=agency, role=Membership.Role.COORDINATOR)
    return user


def test_it_approves_a_draft_for_a_user_with_the_permission():
    letter = letter_with_relays()
    user = approver(letter.agency)
    letter_approve(letter_id=letter.pk, user=user)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.APPROVED
    assert letter.approved_by == user and letter.approved_at is not None


def test_it_refuses_approval_without_the_permission():
    letter = letter_with_relays()
    user = UserFactory()
    # A viewer: a coordinator's role grants approval (outreach.roles).
    MembershipFactory(user=user, agency=letter.agency, role=Membership.Role.VIEWER)
    with pytest.raises(PermissionDenied):
        letter_approve(letter_id=letter.pk, user=user)
    assert Letter.objects.get().status == Letter.Status.DRAFT


def test_it_refuses_approval_of_another_agencys_letter():
    letter = letter_with_relays()
    with pytest.raises(PermissionDenied):
        letter_approve(letter_id=letter.pk, user=approver(AgencyFactory()))


def test_it_approves_a_letter_only_once():
    letter = letter_with_relays()
    user = approver(letter.agency)
    letter_approve(letter_id=letter.pk, user=user)
    with pytest.raises(ValidationError):
        letter_approve(letter_id=letter.pk, user=user)


def test_it_leaves_unchanged_drafts_alone_on_a_rebuild():
    campaign = CampaignFactory()
    for _ in range(3):
        relay(campaign, ContactFactory())
    first = letters_build(campaign_id=campaign.pk)
    second = letters_build(campaign_id=campaign.pk)
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert all(letter.hosts.count() == 1 for letter in Letter.objects.all())


def test_it_reports_hosts_left_without_contact_by_an_opt_out_as_such():
    campaign = CampaignFactory()
    ContactFactory(email="abuse@optedout.example", do_not_contact=True)
    network = NetworkFactory(abuse_emails=["abuse@optedout.example"])
    for _ in range(2):
        campaign.hosts.add(HostFactory(status=Host.Status.OPEN_RELAY, network=network))
    relay(campaign, None)  # no contact found at all
    summary = letters_build(campaign_id=campaign.pk)
    assert (summary.hosts_opted_out, summary.hosts_without_contact) == (2, 1)
