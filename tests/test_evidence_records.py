"""Records nobody can edit: read-only evidence, audited corrections, frozen
letters, and admin GETs that write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from letters.approval import letter_approval_revoke
from letters.build import letter_approve, letter_language_set
from letters.corrections import host_status_correct
from letters.models import Letter, RecipientToken
from outreach.models import Host
from probes.models import Listing, Probe
from probes.retention import probes_purge
from tests.factories import (
    ContactFactory,
    HostFactory,
    LetterFactory,
    ListingFactory,
    NetworkFactory,
    ProbeFactory,
    UserFactory,
)
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"


def events(name: str) -> list[LogEntry]:
    return [e for e in LogEntry.objects.all() if (e.additional_data or {}).get("event") == name]


# --- Read-only evidence ---------------------------------------------------------


def test_it_refuses_a_superuser_a_post_to_change_or_delete_a_probe(admin_client):
    probe = ProbeFactory(verdict="open_relay", transcript="S: 220 original")
    change = reverse("admin:probes_probe_change", args=[probe.pk])
    delete = reverse("admin:probes_probe_delete", args=[probe.pk])
    posted = {"verdict": "not_relay", "transcript": "forged", "port": 25, "host": probe.host_id}
    assert admin_client.post(change, posted).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:probes_probe_changelist")
    bulk = {"action": "delete_selected", "_selected_action": [probe.pk], "post": "yes"}
    admin_client.post(changelist, bulk)
    probe.refresh_from_db()
    assert (probe.verdict, probe.transcript) == ("open_relay", "S: 220 original")
    assert admin_client.get(reverse("admin:probes_probe_add")).status_code == 403


def test_it_shows_a_probe_to_a_superuser_read_only(admin_client):
    probe = ProbeFactory(transcript="S: 220 mx.example ESMTP")
    html = admin_client.get(reverse("admin:probes_probe_change", args=[probe.pk])).content
    assert b"S: 220 mx.example ESMTP" in html
    assert b'name="_save"' not in html
    assert b"deletelink" not in html


def test_it_refuses_a_superuser_a_change_or_delete_of_a_listing(admin_client):
    listing = ListingFactory(reason="spam")
    change = reverse("admin:probes_listing_change", args=[listing.pk])
    assert admin_client.post(change, {"reason": "forged"}).status_code == 403
    delete = reverse("admin:probes_listing_delete", args=[listing.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Listing.objects.get(pk=listing.pk).reason == "spam"


def test_it_never_lets_the_host_form_change_the_status(admin_client):
    host = HostFactory(status=Host.Status.OPEN_RELAY, last_verdict="open_relay")
    url = reverse("admin:outreach_host_change", args=[host.pk])
    admin_client.post(url, {"status": "fixed", "last_verdict": "not_relay", "ip": "192.0.2.99"})
    host.refresh_from_db()
    assert (host.status, host.last_verdict) == ("open_relay", "open_relay")
    assert host.ip != "192.0.2.99"


# --- Audited correction -------------------------------------------------------------


def test_it_corrects_a_host_with_a_reason_and_an_audit_entry_leaving_the_probe(admin_client):
    host = HostFactory(status=Host.Status.OPEN_RELAY, last_verdict="refused")
    probe = ProbeFactory(host=host, verdict="refused", tests_passed=[])
    letter = LetterFactory(status=Letter.Status.SENT, sent_at=timezone.now())
    letter.hosts.add(host)
    url = reverse("admin:outreach_host_correct", args=[host.pk])
    assert b"reason" in admin_client.get(url).content

    refused = admin_client.post(url, {"status": "fixed", "reason": ""})
    assert refused.status_code == 200  # the form again: a reason is required
    assert Host.objects.get(pk=host.pk).status == Host.Status.OPEN_RELAY

    reason = "Owner sent the new config; verified by phone with their NOC."
    response = admin_client.post(url, {"status": "fixed", "reason": reason})
    assert response.status_code == 302
    host.refresh_from_db()
    assert host.status == Host.Status.FIXED and host.fixed_at is not None
    [entry] = events("status_correction")
    assert entry.additional_data["note"] == reason
    assert entry.changes["status"] == ["open_relay", "fixed"]
    assert entry.actor is not None
    probe.refresh_from_db()
    assert (probe.verdict, probe.tests_passed) == ("refused", [])
    letter.refresh_from_db()
    assert letter.outcome == "fixed"


def test_it_refuses_a_correction_without_a_reason_or_to_an_unknown_status():
    host = HostFactory()
    user = UserFactory(is_superuser=True)
    with pytest.raises(ValidationError):
        host_status_correct(host_id=host.pk, status="fixed", reason="  ", user=user)
    with pytest.raises(ValidationError):
        host_status_correct(host_id=host.pk, status="gone", reason="x", user=user)
    assert events("status_correction") == []


# --- Frozen letters and revoke-approval -----------------------------------------------


def test_approval_freezes_a_letter_until_an_audited_revoke(admin_client, admin_user):
    letter = letter_with_relays(language="en")
    letter_approve(letter_id=letter.pk, user=admin_user)
    assert RecipientToken.objects.filter(letter=letter, revoked_at__isnull=True).count() == 1
    with pytest.raises(ValidationError):
        letter_language_set(letter_id=letter.pk, language="fr", user=admin_user)
    change = reverse("admin:letters_letter_change", args=[letter.pk])
    form = admin_client.get(change).content.decode()
    for name in ("language", "contact", "hosts", "campaign", "outcome", "created_at"):
        assert f'name="{name}"' not in form, name
    assert "Revoke approval" in form
    other = ContactFactory()
    admin_client.post(change, {"language": "fr", "contact": other.pk, "kind": "x"})
    letter.refresh_from_db()
    assert (letter.language, letter.contact_id) == ("en", letter.contact_id)
    assert letter.contact != other

    revoke = reverse("admin:letters_letter_revoke", args=[letter.pk])
    assert admin_client.post(revoke, {"reason": ""}).status_code == 200
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.APPROVED
    response = admin_client.post(revoke, {"reason": "Wrong contact: the ISP asked for noc@."})
    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.status, letter.approved_at, letter.approved_by) == ("draft", None, None)
    [entry] = events("revoke_approval")
    assert entry.additional_data["note"] == "Wrong contact: the ISP asked for noc@."
    assert entry.changes["status"] == ["approved", "draft"]
    assert not RecipientToken.objects.filter(letter=letter, revoked_at__isnull=True).exists()
    letter_language_set(letter_id=letter.pk, language="fr", user=admin_user)  # a draft again


@pytest.mark.parametrize("status", ["draft", "sent", "exported", "sending"])
def test_it_revokes_only_an_approved_letter_not_yet_sent(admin_user, status):
    letter = LetterFactory(status=status)
    with pytest.raises(ValidationError):
        letter_approval_revoke(letter_id=letter.pk, user=admin_user, reason="because")
    assert Letter.objects.get(pk=letter.pk).status == status


# --- A GET never writes -------------------------------------------------------------


def row_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def test_no_admin_get_of_a_letter_writes_a_row(admin_client, admin_user):
    draft = letter_with_relays(language="en")
    approved = letter_with_relays(language="en")
    letter_approve(letter_id=approved.pk, user=admin_user)
    host = draft.hosts.first()
    for letter in (draft, approved):
        urls = [
            reverse("admin:letters_letter_changelist"),
            reverse("admin:letters_letter_change", args=[letter.pk]),
            reverse("admin:letters_letter_preview", args=[letter.pk]),
            reverse("admin:letters_letter_preview", args=[letter.pk]) + "?language=fr",
            reverse("admin:letters_letter_pdf", args=[letter.pk]),
            reverse("admin:letters_letter_revoke", args=[letter.pk]),
            reverse("admin:letters_letter_history", args=[letter.pk]),
            reverse("admin:outreach_host_change", args=[host.pk]),
            reverse("admin:outreach_host_correct", args=[host.pk]),
        ]
        for url in urls:
            before = row_counts()
            assert admin_client.get(url).status_code == 200, url
            assert row_counts() == before, url
    assert not RecipientToken.objects.filter(letter=draft).exists()


def test_a_preview_of_a_draft_prints_no_link_and_approval_issues_one(admin_client, admin_user):
    letter = letter_with_relays(language="en")
    url = reverse("admin:letters_letter_preview", args=[letter.pk])
    assert b"/r/" not in admin_client.get(url).content
    letter_approve(letter_id=letter.pk, user=admin_user)
    assert b"https://outreach.agency.example/r/" in admin_client.get(url).content


# --- Retention --------------------------------------------------------------------------


def test_it_purges_old_probes_but_keeps_the_latest_and_the_proof_with_an_audit_entry(settings):
    now = timezone.now()
    host = HostFactory()
    old = [now - timedelta(days=d) for d in (400, 390, 380)]
    proof = ProbeFactory(host=host, verdict="open_relay", started_at=old[0] - timedelta(days=1))
    stale = [ProbeFactory(host=host, verdict="refused", started_at=t) for t in old]
    latest = ProbeFactory(host=host, verdict="timeout", started_at=now - timedelta(days=1))
    alone = ProbeFactory(verdict="not_relay", started_at=now - timedelta(days=500))

    settings.PROBE_RETENTION_DAYS = 0
    assert probes_purge() == 0
    settings.PROBE_RETENTION_DAYS = 365
    assert probes_purge() == len(stale)
    assert set(Probe.objects.values_list("pk", flat=True)) == {proof.pk, latest.pk, alone.pk}
    [entry] = events("retention_purge")
    assert entry.additional_data["count"] == 3
    assert entry.action == LogEntry.Action.DELETE


# --- The host page ----------------------------------------------------------------------


def test_the_host_page_shows_transcript_probes_feeds_network_contact_and_letters(admin_client):
    network = NetworkFactory(name="EXAMPLE-NET")
    contact = ContactFactory(email="abuse@isp.example")
    host = HostFactory(status=Host.Status.OPEN_RELAY, network=network, contact=contact)
    ListingFactory(host=host, feed__name="spamhaus-relays")
    ProbeFactory(host=host, verdict="open_relay", started_at=timezone.now() - timedelta(days=2))
    ProbeFactory(host=host, verdict="refused", transcript="S: 554 go away", tests_passed=[])
    letter = LetterFactory(contact=contact, status=Letter.Status.SENT, outcome="not_fixed")
    letter.hosts.add(host)
    html = admin_client.get(reverse("admin:outreach_host_change", args=[host.pk])).content.decode()
    assert "spamhaus-relays" in html
    assert "S: 554 go away" in html  # the latest transcript
    assert "Refused our client" in html and "Open relay" in html
    assert "EXAMPLE-NET" in html and "abuse@isp.example" in html
    assert "Not fixed" in html
    assert reverse("admin:letters_letter_change", args=[letter.pk]) in html
    assert "re-test inconclusive" not in html  # last_verdict is set by the probes stage
