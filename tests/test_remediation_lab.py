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
from tests.probe_helpers import lab_mode_set

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def lab():
    with Lab(network=79, tarpit_seconds=30) as lab:
        yield lab
    assert lab.data_attempts() == 0  # the probe never sends DATA


def test_it_turns_a_letter_fixed_only_when_every_relay_stops_relaying(lab, settings, tmp_path):
    letter, _hosts, lab_hosts = _lab_letter(lab, settings, tmp_path, ["open", "open"])

    lab.host_behaviour_set(lab_hosts[0].ip, "closed")
    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "partly_fixed"}

    lab.host_behaviour_set(lab_hosts[1].ip, "closed")
    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "fixed"}
    assert set(Host.objects.values_list("status", flat=True)) == {Host.Status.FIXED}


def _lab_letter(lab, settings, tmp_path, behaviours):
    host_map = lab_mode_set(settings, tmp_path)
    lab_hosts = lab.hosts_add(behaviours)
    hosts = [HostFactory() for _ in lab_hosts]
    mapping = {h.ip: lab_host.endpoint for h, lab_host in zip(hosts, lab_hosts, strict=True)}
    host_map.write_text(json.dumps(mapping))
    hosts_verify(host_ids=[h.id for h in hosts])
    letter = LetterFactory(status=Letter.Status.SENT, sent_at=timezone.now())
    letter.hosts.set(hosts)
    return letter, hosts, lab_hosts


@pytest.mark.parametrize("blocked", ["blocks_us", "defers_us", "greylist"])
def test_it_never_counts_an_owner_blocking_the_prober_as_a_fix(lab, settings, tmp_path, blocked):
    letter, [host], [lab_host] = _lab_letter(lab, settings, tmp_path, ["open"])
    lab.host_behaviour_set(lab_host.ip, blocked)

    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "not_fixed"}
    host.refresh_from_db()
    assert (host.status, host.fixed_at) == (Host.Status.OPEN_RELAY, None)
    assert host.retest_inconclusive
    assert host.last_verdict in {"refused", "temp_failure"}

    # Tried again later; a completed dialogue that refuses every test fixes it.
    lab.host_behaviour_set(lab_host.ip, "closed")
    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "fixed"}
    host.refresh_from_db()
    assert (host.status, host.retest_inconclusive) == (Host.Status.FIXED, False)
