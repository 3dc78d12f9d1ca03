"""Remediation against the lab: the probes stage's real hosts_verify decides."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from lab.smtp import Lab
from letters.models import Letter
from letters.remediation import letters_remediate
from outreach.models import Host
from probes.verify import hosts_verify
from tests.factories import HostFactory, LetterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def lab():
    with Lab(network=79, tarpit_seconds=30) as lab:
        yield lab
    assert lab.data_attempts() == 0  # the probe never sends DATA


def test_it_turns_a_letter_fixed_only_when_every_relay_stops_relaying(lab, settings, tmp_path):
    settings.LAB_MODE = True
    settings.LAB_HOST_MAP = str(tmp_path / "lab-map.json")
    settings.PROBE_DEADLINE = 5
    settings.PROBE_READ_TIMEOUT = 3
    settings.REDIS_URL = ""
    lab_hosts = lab.hosts_add(["open", "open"])
    hosts = [HostFactory() for _ in lab_hosts]
    mapping = {h.ip: lab_host.endpoint for h, lab_host in zip(hosts, lab_hosts, strict=True)}
    (tmp_path / "lab-map.json").write_text(json.dumps(mapping))
    hosts_verify(host_ids=[h.id for h in hosts])
    letter = LetterFactory(status=Letter.Status.SENT, sent_at=timezone.now())
    letter.hosts.set(hosts)

    lab.host_behaviour_set(lab_hosts[0].ip, "closed")
    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "partly_fixed"}

    lab.host_behaviour_set(lab_hosts[1].ip, "closed")
    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "fixed"}
    assert set(Host.objects.values_list("status", flat=True)) == {Host.Status.FIXED}
