"""The seed agencies of the reference letter."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from outreach.models import Agency, Campaign, Membership

pytestmark = pytest.mark.django_db


def test_it_loads_every_agency_of_the_reference_letter_twice_without_duplicates(capsys):
    call_command("load_seed_agencies")
    first = {a.code: (a.name, a.country, a.default_language) for a in Agency.objects.all()}
    call_command("load_seed_agencies")
    assert "0 created, 14 already present" in capsys.readouterr().out
    assert Agency.objects.count() == 14
    assert {a.code: (a.name, a.country, a.default_language) for a in Agency.objects.all()} == first
    assert first["ftc"] == ("Federal Trade Commission", "US", "en")
    assert first["sernac"][1:] == ("CL", "es")
    assert first["jp-oecd"][1:] == ("JP", "ja")
    assert first["accc"][1] == "AU" and first["ic"][1] == "CA"


def test_it_prepares_a_demo_campaign_and_prints_a_working_login(client, capsys):
    call_command("demo_setup")
    out = capsys.readouterr().out
    password = out.split("Login: investigator / ")[1].split()[0]
    campaign = Campaign.objects.get(slug="open-relay-demo")
    assert campaign.lead_agency.code == "ftc"
    assert campaign.partners.count() == 13
    assert Membership.objects.get(user__username="investigator").role == "investigator"
    # Through the real login form, so axes and the two-factor step take part.
    login = client.post("/admin/login/", {"username": "investigator", "password": password})
    assert login.status_code == 302
    assert client.get("/admin/outreach/agency/").status_code == 200
