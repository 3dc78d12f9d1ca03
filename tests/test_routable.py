"""Every sender address routable, or no sending: the rules and the three places."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from letters.checks import SENDER_CHECK_ID, senders_routable_check
from letters.models import Letter, Smarthost
from letters.routable import domain_problem, sender_problems
from outreach.models import Agency, Campaign
from tests.factories import AgencyFactory, CampaignFactory, LetterFactory


@pytest.mark.parametrize(
    "domain",
    [
        "",
        "localhost",
        "outreach.localdomain",
        "localhost.localdomain",
        "mail.localhost",
        "printer.local",
        "agency.invalid",
        "mailhost",
        "10.0.0.1",
        "-bad-.gov",
        "a..b.gov",
    ],
)
def test_it_refuses_domains_that_never_route(domain):
    assert domain_problem(domain, lab=True)
    assert domain_problem(domain, lab=False)


@pytest.mark.parametrize("domain", ["ftc.example", "agency.test", "example.com", "x.example.org"])
def test_it_allows_documentation_domains_in_lab_mode_only(domain):
    assert domain_problem(domain, lab=True) == ""
    assert "lab mode" in domain_problem(domain, lab=False)


@pytest.mark.parametrize(
    "domain", ["ftc.gov", "accc.gov.au", "Mail.Agency.GOV.", "xn--bcher-kva.de"]
)
def test_it_accepts_real_domains(domain):
    assert domain_problem(domain, lab=False) == ""


def test_a_blank_contact_email_falls_back_to_default_from_and_is_checked():
    problems = sender_problems(
        contact_email="", reply_domain="ftc.gov", default_from="outreach@localhost", lab=False
    )
    assert [(p.field, p.value) for p in problems] == [("contact_email", "outreach@localhost")]
    assert "DEFAULT_FROM_EMAIL" in str(problems[0])


# --- 1. The agency admin form -------------------------------------------------


def agency_form(**overrides) -> dict:
    data = {
        "name": "Federal Trade Commission",
        "code": "ftc",
        "country": "US",
        "default_language": "en",
        "contact_email": "relay@ftc.gov",
        "reply_domain": "ftc.gov",
        "jurisdiction": '["US"]',
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "texts-TOTAL_FORMS": "0",
        "texts-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


@pytest.mark.django_db
def test_the_agency_form_refuses_an_unroutable_reply_domain(admin_client, settings):
    settings.LAB_MODE = False
    url = reverse("admin:outreach_agency_add")
    refused = admin_client.post(url, agency_form(reply_domain="outreach.localdomain"))
    assert refused.status_code == 200
    assert "reply_domain" in refused.context["adminform"].form.errors
    assert not Agency.objects.filter(code="ftc").exists()

    refused = admin_client.post(url, agency_form(reply_domain="ftc.example"))
    assert "lab mode" in str(refused.context["adminform"].form.errors["reply_domain"])

    accepted = admin_client.post(url, agency_form())
    assert accepted.status_code == 302
    assert Agency.objects.get(code="ftc").reply_domain == "ftc.gov"


@pytest.mark.django_db
def test_the_agency_form_refuses_a_from_address_at_localhost(admin_client, settings):
    settings.LAB_MODE = False
    url = reverse("admin:outreach_agency_add")
    refused = admin_client.post(url, agency_form(contact_email="outreach@localhost"))
    assert "contact_email" in refused.context["adminform"].form.errors


# --- 2. The system check -----------------------------------------------------------


@pytest.mark.django_db
def test_the_check_names_a_misconfigured_agency_of_an_active_campaign(settings):
    settings.DEBUG, settings.LAB_MODE = False, False
    good = AgencyFactory(code="good", contact_email="relay@good.gov", reply_domain="good.gov")
    bad = AgencyFactory(code="bad", reply_domain="")
    idle = AgencyFactory(code="idle", reply_domain="")
    CampaignFactory(lead_agency=good, status=Campaign.Status.ACTIVE).partners.add(bad)
    CampaignFactory(lead_agency=idle, status=Campaign.Status.DRAFT)

    errors = senders_routable_check()

    assert {e.id for e in errors} == {SENDER_CHECK_ID}
    assert {e.obj.code for e in errors} == {"bad"}
    assert any("reply_domain" in e.msg for e in errors)
    settings.DEBUG = True
    assert senders_routable_check() == []


@pytest.mark.django_db
def test_the_check_passes_when_every_sending_agency_is_routable(settings):
    settings.DEBUG, settings.LAB_MODE = False, False
    agency = AgencyFactory(contact_email="relay@ftc.gov", reply_domain="ftc.gov")
    CampaignFactory(lead_agency=agency, status=Campaign.Status.ACTIVE)
    assert senders_routable_check() == []


# --- 3. send_letters -----------------------------------------------------------------


@pytest.mark.django_db
def test_send_letters_stops_before_connecting_and_names_agency_and_field(settings):
    agency = AgencyFactory(code="ftc", name="FTC", reply_domain="")
    # Nothing listens there: any connection attempt would show as a retry.
    Smarthost.objects.create(agency=agency, host="127.0.0.1", port=9, security="none")
    campaign = CampaignFactory(lead_agency=agency)
    letter = LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)

    with pytest.raises(CommandError) as error:
        call_command("send_letters", "--campaign", campaign.slug)

    assert "agency FTC (ftc)" in str(error.value)
    assert "reply_domain" in str(error.value)
    letter.refresh_from_db()
    assert (letter.status, letter.send_attempts, letter.message_id) == (
        Letter.Status.APPROVED,
        0,
        None,
    )


@pytest.mark.django_db
def test_send_letters_refuses_documentation_domains_outside_lab_mode(settings):
    settings.LAB_MODE = False
    campaign = CampaignFactory(lead_agency=AgencyFactory(code="ftc"))
    LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    with pytest.raises(CommandError, match="lab mode"):
        call_command("send_letters", "--campaign", campaign.slug, "--dry-run")


@pytest.mark.django_db
def test_every_seed_agency_gets_a_complete_set_of_lab_addresses(settings):
    call_command("load_seed_agencies")
    agencies = list(Agency.objects.all())
    assert len(agencies) > 10
    for agency in agencies:
        assert agency.reply_domain.endswith(".example"), agency.code
        assert (
            sender_problems(
                contact_email=agency.contact_email,
                reply_domain=agency.reply_domain,
                default_from=settings.DEFAULT_FROM_EMAIL,
                lab=True,
            )
            == []
        ), agency.code
