"""The seed agencies of the reference letter."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from outreach.models import Agency, AgencyText, Campaign, Membership
from outreach.seed import SEED_AGENCIES
from outreach.seed_texts import seed_texts
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


def test_every_seed_agency_has_its_texts_in_five_languages_with_french_reviewed():
    texts = seed_texts()
    assert set(texts) == {row["code"] for row in SEED_AGENCIES}
    for code, by_language in texts.items():
        assert {"en", "fr", "es", "de", "ja"} <= set(by_language), code
        assert all(fields["name"] and fields["in_list"] for fields in by_language.values()), code
        assert by_language["fr"]["status"] == AgencyText.Status.REVIEWED, code
        assert {f["status"] for f in by_language.values()} <= set(AgencyText.Status.values)
    assert texts["la-ag"]["fr"] == {
        "status": "reviewed",
        "name": "Attorney General de la Louisiane",
        "in_list": "l'Attorney General de la Louisiane",
        "group": "us-state-ag",
        "group_phrase": "les Attorneys General des états {members}",
        "group_member": "de la Louisiane",
    }


def test_the_seed_loads_agency_texts_and_keeps_a_reviewed_edit():
    call_command("load_seed_agencies", stdout=StringIO())
    stored = AgencyText.objects.get(agency__code="tx-ag", language="ja")
    assert (stored.name, stored.group_member) == ("テキサス州司法長官", "テキサス")
    stored.name, stored.status = "テキサス州司法長官室", AgencyText.Status.REVIEWED
    stored.save()
    call_command("load_seed_agencies", stdout=StringIO())
    stored.refresh_from_db()
    assert stored.name == "テキサス州司法長官室"
