"""An investigator runs a campaign in the admin, in a real browser, on the lab.

Upload a blocklist → preview and import → verify the hosts → read the probe
evidence → look up contacts → build letters → preview them (HTML and PDF) →
approve → export → dashboard. Tasks run in-process; the lab's SMTP hosts, the
RDAP simulator and the live server are all on loopback.
"""

from __future__ import annotations

import json
import re

import pytest

from lab.rdap import RdapSimulator
from lab.smtp import Lab
from letters.models import Letter
from outreach.demo import rdap_answers, simulated_ip
from outreach.models import Host, Membership
from probes.models import Probe
from tests.browser.conftest import admin_login, shot
from tests.factories import AgencyFactory, CampaignFactory, FeedFactory, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks"),
]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def lab_world(settings, tmp_path):
    """Two owners (BR, JP) with an open and a closed relay each, and their RDAP."""
    with Lab() as lab, RdapSimulator(answers=rdap_answers()) as rdap:
        hosts = lab.hosts_add(["open", "closed", "open", "closed"])
        targets = [simulated_ip(0, 0), simulated_ip(0, 1), simulated_ip(1, 0), simulated_ip(1, 1)]
        lab_map = tmp_path / "lab-map.json"
        lab_map.write_text(json.dumps({t: h.endpoint for t, h in zip(targets, hosts, strict=True)}))
        settings.LAB_MODE, settings.LAB_HOST_MAP = True, str(lab_map)
        settings.PROBE_ALLOWED_NETWORKS = settings.RDAP_ALLOWED_NETWORKS = ["198.18.0.0/15"]
        settings.RDAP_BASE_URL = rdap.base_url
        settings.RDAP_RATE_LIMITS = dict.fromkeys(settings.RDAP_RATE_LIMITS, (100, 1))
        settings.LETTERS_EXPORT_DIR = tmp_path / "exports"
        yield targets, lab


def run_action(page, action: str) -> None:
    page.check("#action-toggle")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_an_investigator_runs_a_campaign_from_upload_to_dashboard(page, live_server, lab_world):
    targets, lab = lab_world
    ftc = AgencyFactory(code="ftc", name="Federal Trade Commission")
    user = MembershipFactory(agency=ftc, role=Membership.Role.INVESTIGATOR).user
    campaign = CampaignFactory(lead_agency=ftc, name="Relays 2026")
    feed = FeedFactory(name="relays")
    admin_login(page, live_server, user.username, PASSWORD)

    # Upload, preview, import.
    page.goto(f"{live_server.url}/admin/probes/feed/{feed.pk}/upload/")
    page.set_input_files("input[name=file]", files=[{
        "name": "relays.txt", "mimeType": "text/plain",
        "buffer": ("\n".join(["# lab relays", *targets, "10.1.2.3"]) + "\n").encode(),
    }])  # fmt: skip
    page.select_option("select[name=campaign]", str(campaign.pk))
    page.click("input[name=preview]")
    shot(page, "campaign-1-upload-preview")
    # The refused private address is named, its reason in words.
    assert "Rejected: not a public address" in page.content()
    page.click("input[name=commit]")
    page.wait_for_load_state()
    assert set(Host.objects.values_list("ip", flat=True)) == set(targets)

    # Verify every host, then read the evidence of an open relay.
    page.goto(f"{live_server.url}/admin/outreach/host/")
    run_action(page, "verify_now")
    shot(page, "campaign-2-verified")
    assert Host.objects.filter(status=Host.Status.OPEN_RELAY).count() == 2
    probe = Probe.objects.filter(verdict="open_relay").first()
    page.goto(f"{live_server.url}/admin/probes/probe/{probe.pk}/change/")
    assert "RCPT TO" in page.content()
    assert lab.data_attempts() == 0

    # Contacts, then letters.
    page.goto(f"{live_server.url}/admin/outreach/campaign/")
    run_action(page, "lookup_contacts")
    page.goto(f"{live_server.url}/admin/outreach/campaign/")
    run_action(page, "build_letters")
    shot(page, "campaign-3-letters-built")
    letters = Letter.objects.filter(campaign=campaign)
    assert sorted(letters.values_list("language", flat=True)) == ["ja", "pt"]

    # Preview a letter as HTML and as PDF.
    letter = letters.get(language="pt")
    page.goto(f"{live_server.url}/admin/letters/letter/{letter.pk}/preview/")
    shot(page, "campaign-4-letter-preview")
    assert simulated_ip(0, 0) in page.content()
    pdf = page.request.get(f"{live_server.url}/admin/letters/letter/{letter.pk}/preview.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # Approve, export, dashboard.
    page.goto(f"{live_server.url}/admin/letters/letter/")
    run_action(page, "approve_selected")
    assert set(letters.values_list("status", flat=True)) == {Letter.Status.APPROVED}
    page.goto(f"{live_server.url}/admin/letters/letter/")
    run_action(page, "export_selected")
    page.wait_for_load_state()
    shot(page, "campaign-5-export")
    download = page.locator("a[href*='download']").first
    zipped = page.request.get(live_server.url + download.get_attribute("href"))
    assert zipped.ok and zipped.body().startswith(b"PK")
    page.goto(f"{live_server.url}/admin/outreach/campaign/{campaign.pk}/dashboard/")
    shot(page, "campaign-6-dashboard")
    total = page.locator("tr", has_text="Total").inner_text()
    assert re.search(r"Total\s+2\s+2", total)
