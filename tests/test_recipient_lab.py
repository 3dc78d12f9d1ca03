"""A recipient says "we fixed it": the re-test runs against the lab and the page shows it."""

from __future__ import annotations

import json
import uuid

import pytest

from lab.smtp import Lab
from letters import recipient
from outreach.models import Host
from probes.verify import hosts_verify
from tests.factories import HostFactory, LetterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_letter(settings, tmp_path):
    caches = {**settings.CACHES}
    caches["recipient"] = {**caches["recipient"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}
    settings.CACHES = caches
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"
    settings.LAB_MODE = True
    settings.LAB_HOST_MAP = str(tmp_path / "lab-map.json")
    settings.PROBE_DEADLINE = 5
    settings.PROBE_READ_TIMEOUT = 3
    with Lab(network=79) as lab:
        [lab_host] = lab.hosts_add(["open"])
        host = HostFactory(ip="192.0.2.99")
        (tmp_path / "lab-map.json").write_text(json.dumps({host.ip: lab_host.endpoint}))
        letter = LetterFactory(language="en")
        letter.hosts.add(host)
        yield lab, lab_host, letter
    assert lab.data_attempts() == 0


def test_it_shows_the_fixed_verdict_after_a_retest_against_the_lab(
    lab_letter, client, eager_tasks, django_capture_on_commit_callbacks
):
    lab, lab_host, letter = lab_letter
    host = letter.hosts.get()
    hosts_verify(host_ids=[host.pk])
    path = recipient.recipient_url(letter=letter).removeprefix("https://outreach.agency.example")
    assert "Open relay: it accepted" in client.get(path).content.decode()

    lab.host_behaviour_set(lab_host.ip, "closed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path + "fixed/", {"fixed-message": "Relaying is off now."})
    assert response.status_code == 303
    host.refresh_from_db()
    assert host.status == Host.Status.FIXED
    html = client.get(response["Location"]).content.decode()
    assert "Not a relay: it refused our test messages. Fixed: thank you" in html
    assert "re-test is under way" not in html
    assert host.probes.count() == 2
    letter.refresh_from_db()
    assert letter.outcome == "fixed"
