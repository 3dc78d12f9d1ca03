"""The seed agencies of the reference letter."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from outreach.models import Agency, Campaign, Membership
from tests.command_io import json_lines

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


def test_the_seed_command_prints_its_summary_as_json():
    first, second = StringIO(), StringIO()
    call_command("load_seed_agencies", "--json", stdout=first)
    call_command("load_seed_agencies", "--json", stdout=second)
    assert json_lines(first) == [{"summary": True, "created": 14, "updated": 0}]
    assert json_lines(second) == [{"summary": True, "created": 0, "updated": 14}]


def test_the_demo_setup_prints_a_working_login_as_json(client):
    out = StringIO()
    call_command("demo_setup", "--json", stdout=out)
    [summary] = json_lines(out)
    assert summary["campaign"] == "open-relay-demo"
    assert summary["username"] == "investigator"
    login = {"username": "investigator", "password": summary["password"]}
    assert client.post("/admin/login/", login).status_code == 302
