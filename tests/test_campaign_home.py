"""The campaign home: funnel, work queues and breakdowns, scoped per agency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from letters.campaign_home import campaign_home, next_recheck
from letters.models import Letter, RecipientAction, Response
from outreach.models import Host, Membership
from probes.models import ContactDispute
from tests.campaign_helpers import lead_and_partner_campaign
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    HostFactory,
    LetterFactory,
    MembershipFactory,
    NetworkFactory,
    RecipientActionFactory,
    ResponseFactory,
)

pytestmark = pytest.mark.django_db


def _letter(campaign, agency, **fields):
    hosts = fields.pop("hosts", [])
    letter = LetterFactory(campaign=campaign, agency=agency, **fields)
    letter.hosts.add(*hosts)
    return letter


@pytest.fixture
def world():
    return campaign_world()


def campaign_world():
    """FTC leads, ACCC partners. Each agency has its own hosts and letters."""
    campaign, ftc, accc = lead_and_partner_campaign(
        remediation_deadline=timezone.localdate() + timedelta(days=10)
    )
    ripe = NetworkFactory(registry="ripe", country="NL")
    now = timezone.now()
    open_ftc = HostFactory(
        agency=ftc,
        status=Host.Status.OPEN_RELAY,
        last_probed_at=now,
        network=ripe,
        contact=ContactFactory(),
    )
    fixed_ftc = HostFactory(agency=ftc, status=Host.Status.FIXED, last_probed_at=now)
    suspected_ftc = HostFactory(agency=ftc)
    open_accc = HostFactory(
        agency=accc,
        status=Host.Status.OPEN_RELAY,
        last_probed_at=now,
        contact=ContactFactory(country="AU"),
    )
    campaign.hosts.add(open_ftc, fixed_ftc, suspected_ftc, open_accc)

    _letter(campaign, ftc, status=Letter.Status.DRAFT)
    _letter(campaign, ftc, status=Letter.Status.APPROVED)
    _letter(campaign, ftc, status=Letter.Status.FAILED, last_error="550")
    _letter(campaign, ftc, status=Letter.Status.FAILED, outcome="delivery_unknown")
    bounced = _letter(campaign, ftc, status=Letter.Status.BOUNCED, sent_at=now)
    ResponseFactory(letter=bounced, kind=Response.Kind.BOUNCE)
    answered = _letter(
        campaign,
        ftc,
        status=Letter.Status.ANSWERED,
        sent_at=now,
        outcome="fixed",
        hosts=[fixed_ftc],
    )
    ResponseFactory(letter=answered, kind=Response.Kind.REPLY)  # unhandled
    disputed = _letter(campaign, ftc, status=Letter.Status.SENT, sent_at=now, outcome="not_fixed")
    dispute = ResponseFactory(letter=disputed, kind=Response.Kind.DISPUTE)
    RecipientActionFactory(
        letter=disputed,
        action=RecipientAction.Action.DISPUTE,
        response=dispute,
        detail={"reason": "not ours", "better_contact": "noc@other.example"},
    )
    opted = _letter(
        campaign,
        ftc,
        status=Letter.Status.SENT,
        sent_at=now,
        contact=ContactFactory(do_not_contact=True),
    )
    ResponseFactory(
        letter=opted, kind=Response.Kind.OPT_OUT, handled_by=MembershipFactory(agency=ftc).user
    )

    _letter(campaign, accc, status=Letter.Status.DRAFT, contact=open_accc.contact)
    accc_sent = _letter(
        campaign, accc, status=Letter.Status.SENT, sent_at=now, outcome="partly_fixed"
    )
    ResponseFactory(letter=accc_sent, kind=Response.Kind.QUESTION)
    # Sources that disagree on the contact of a campaign host, and of another host.
    ContactDispute.objects.create(
        network=ripe, ip=open_ftc.ip, candidates=[{"email": "a@x.example"}]
    )
    ContactDispute.objects.create(network=NetworkFactory(), ip="192.0.2.99", candidates=[])
    other = CampaignFactory(lead_agency=ftc)  # nothing of it counts here
    _letter(other, ftc, status=Letter.Status.DRAFT)
    return campaign, ftc, accc


def user_of(agency, role):
    user = MembershipFactory(agency=agency, role=role).user
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["outreach", "letters", "probes"])
    )
    return user


def counts(items):
    return {item.key: item.count for item in items}


def home_user(world, role):
    """An investigator of the lead agency (FTC), or a coordinator of the partner (ACCC)."""
    _campaign, ftc, accc = world
    return user_of(ftc if role == Membership.Role.INVESTIGATOR else accc, role)


@pytest.mark.parametrize(
    ("role", "funnel"),
    [
        (Membership.Role.INVESTIGATOR, {
            "imported": 4, "verified": 3, "open_relays": 3, "with_contact": 2,
            "built": 10, "approved": 8, "sent": 5, "answered": 4, "fixed": 1,
        }),
        # The partner sees its own agency's share only.
        (Membership.Role.COORDINATOR, {
            "imported": 1, "verified": 1, "open_relays": 1, "with_contact": 1,
            "built": 2, "approved": 1, "sent": 1, "answered": 1, "fixed": 0,
        }),
    ],
)  # fmt: skip
def test_it_counts_every_stage_of_the_funnel_the_user_may_see(world, role, funnel):
    home = campaign_home(user=home_user(world, role), campaign=world[0])
    assert counts(home.funnel) == funnel


def test_it_counts_every_outcome_and_queue_for_an_investigator(world):
    home = campaign_home(user=home_user(world, Membership.Role.INVESTIGATOR), campaign=world[0])
    assert counts(home.outcomes) == {
        "partly_fixed": 1, "not_fixed": 1, "delivery_unknown": 1, "bounced": 1, "disputed": 1,
    }  # fmt: skip
    queues = counts(home.queues)
    assert queues["to_approve"] == 2
    assert queues["approved_unsent"] == 1
    assert queues["failed"] == 1  # the delivery-unknown letter is not a failure
    assert queues["bounce_no_fallback"] == 1
    assert queues["unhandled"] == 3  # reply, dispute, question; the opt-out was handled
    assert queues["dispute_better_contact"] == 1
    assert queues["opted_out"] == 1
    assert queues["contact_disputed"] == 1
    assert queues["contact_dispute"] == 1
    assert home.days_left == 10


def test_it_counts_only_the_partners_own_agency(world):
    home = campaign_home(user=home_user(world, Membership.Role.COORDINATOR), campaign=world[0])
    queues = counts(home.queues)
    assert queues["to_approve"] == 1
    assert queues["unhandled"] == 1
    assert queues["opted_out"] == queues["failed"] == queues["dispute_better_contact"] == 0
    assert queues["contact_dispute"] == 0  # the disputed network is not routed to ACCC
    by_agency = next(b for b in home.breakdowns if b.name == "agency")
    assert [label for label, _cells in by_agency.rows] == ["ACCC"]


def _list_count(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


@pytest.mark.parametrize("role", [Membership.Role.INVESTIGATOR, Membership.Role.COORDINATOR])
def test_it_links_every_count_to_a_list_of_that_length(client, world, role):
    campaign = world[0]
    client.force_login(home_user(world, role))
    response = client.get(reverse("admin:outreach_campaign_home", args=[campaign.pk]))
    assert response.status_code == 200
    home = response.context["home"]
    items = home.funnel + home.outcomes + home.queues
    items += [cell for b in home.breakdowns for _label, cells in b.rows for cell in cells]
    for item in items:
        assert _list_count(client, item.url) == item.count, (item.key, item.url)
        assert item.url.replace("&", "&amp;") in response.content.decode()


def test_it_opens_the_home_at_the_campaign_url_and_keeps_the_form_at_change(admin_client, world):
    campaign, _ftc, _accc = world
    url = f"/admin/outreach/campaign/{campaign.pk}/"
    assert reverse("admin:outreach_campaign_home", args=[campaign.pk]) == url
    assert reverse("admin:outreach_campaign_change", args=[campaign.pk]) == f"{url}change/"
    home = admin_client.get(url)
    assert home.status_code == 200
    assert f'href="{url}change/"' in home.content.decode()
    assert "<svg" in home.content.decode()
    assert admin_client.get(f"{url}change/").status_code == 200
    listing = admin_client.get(reverse("admin:outreach_campaign_changelist")).content.decode()
    assert f'href="{url}"' in listing
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{url}"' in index


def test_it_answers_404_for_a_campaign_the_partner_does_not_take_part_in(client, world):
    _campaign, ftc, accc = world
    alone = CampaignFactory(lead_agency=ftc)
    client.force_login(user_of(accc, Membership.Role.COORDINATOR))
    assert client.get(reverse("admin:outreach_campaign_home", args=[alone.pk])).status_code == 404


def test_it_dates_the_next_recheck_from_the_last_one(settings):
    settings.CELERY_BEAT_SCHEDULE = {"probes-reverify-open-relays": {"schedule": 6 * 3600}}
    last = timezone.now() - timedelta(hours=1)
    assert next_recheck(last) == last + timedelta(hours=6)
    assert next_recheck(None) is None


def test_it_links_the_registry_breakdown_to_hosts_of_that_registry(admin_client, world):
    campaign, _ftc, _accc = world
    home = admin_client.get(reverse("admin:outreach_campaign_home", args=[campaign.pk])).context[
        "home"
    ]
    registry = next(b for b in home.breakdowns if b.name == "registry")
    assert {label: cells[0].count for label, cells in registry.rows} == {"ripe": 1, "—": 3}
