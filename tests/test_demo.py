"""The demo runs a whole campaign against the lab, end to end."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from lab.mailsink import free_port
from letters.models import Letter, Response
from outreach.demo import NETWORKS
from outreach.models import Campaign, Host

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def demo_settings(settings, tmp_path):
    settings.LAB_MODE = True
    settings.LAB_HOST_MAP = str(tmp_path / "lab-map.json")
    settings.PROBE_ALLOWED_NETWORKS = ["198.18.0.0/15"]
    settings.RDAP_ALLOWED_NETWORKS = ["198.18.0.0/15"]
    settings.DEMO_RDAP_PORT = free_port()
    settings.RDAP_BASE_URL = f"http://127.0.0.1:{settings.DEMO_RDAP_PORT}"
    settings.DEMO_LAB_PORT = free_port()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.PROBE_DEADLINE = 4
    settings.PROBE_READ_TIMEOUT = 2
    settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 0
    settings.RDAP_RATE_LIMITS = dict.fromkeys(settings.RDAP_RATE_LIMITS, (100, 1))
    return tmp_path


def test_it_runs_all_eight_steps_and_never_sends_data(demo_settings, capsys):
    call_command("demo", "--out", str(demo_settings / "out"))
    out = capsys.readouterr().out
    for step in range(1, 9):
        assert f"→ {step}." in out
    assert "DATA commands received by lab hosts: 0" in out
    campaign = Campaign.objects.get(slug="open-relay-demo")
    letters = Letter.objects.filter(campaign=campaign)
    owners_with_open_relays = sum(1 for net in NETWORKS if "open" in net.behaviours)
    assert letters.count() == owners_with_open_relays
    assert {"pt", "ja", "fr", "de", "es", "ar", "ru", "ko", "zh-hans"} <= set(
        letters.values_list("language", flat=True)
    )
    assert not letters.filter(status=Letter.Status.APPROVED).exists()
    assert len(list((demo_settings / "out" / "pdf").glob("*.pdf"))) == letters.count()
    assert Response.objects.filter(letter__campaign=campaign, kind="bounce").count() == 1
    fixed = sum(net.fixes for net in NETWORKS)
    assert campaign.hosts.filter(status=Host.Status.FIXED).count() == fixed
    lab_map = json.loads((demo_settings / "lab-map.json").read_text())
    assert all(endpoint.startswith("127.") for endpoint in lab_map.values())


def test_it_refuses_serve_and_hold_together_rather_than_drop_one(demo_settings):
    # handle() serves or holds, never both: asked for both, it used to hold nothing.
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("demo", "--serve", "--hold", "--out", str(demo_settings / "out"))
    assert not Campaign.objects.exists()
