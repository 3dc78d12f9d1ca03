from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from letters.models import Letter, Smarthost
from letters.outbox import (
    DELIVERY_UNKNOWN,
    agency_transport,
    letters_claim,
    letters_record,
    letters_requeue_unknown,
    outbox_recover,
    outbox_send,
)
from letters.transport import Envelope, Result, SmtpPool, SmtpSettings
from tests.factories import AgencyFactory, CampaignFactory, ContactFactory, LetterFactory
from tests.letter_content import content
from tests.outbox_helpers import sink_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(sink):
    return sink_campaign(sink, connections=4)


def approved(campaign, n: int, **kwargs) -> list[Letter]:
    return [
        LetterFactory(campaign=campaign, status=Letter.Status.APPROVED, **kwargs) for _ in range(n)
    ]


def test_it_sends_each_approved_letter_once_with_its_stored_message_id(sink, campaign):
    letters = approved(campaign, 5)
    LetterFactory(campaign=campaign, status=Letter.Status.DRAFT)

    report = outbox_send(campaign_id=campaign.id, content=content)
    again = outbox_send(campaign_id=campaign.id, content=content)

    assert (report.outcomes["sent"], again.claimed) == (5, 0)
    stored = {letter.message_id for letter in Letter.objects.filter(status=Letter.Status.SENT)}
    assert sorted(r.message_id for r in sink.received) == sorted(stored)
    assert len(stored) == 5
    first = Letter.objects.get(id=letters[0].id)
    envelope = next(r for r in sink.received if r.message_id == first.message_id)
    assert envelope.mail_from == f"bounces+{first.reply_token}@ftc.example"
    assert envelope.rcpt_tos == [first.contact.email]
    assert first.sent_at is not None


def test_it_keeps_the_language_and_attaches_the_pdf_at_the_sink(sink, campaign):
    approved(campaign, 1, language="fr")
    outbox_send(campaign_id=campaign.id, content=content)
    from email import message_from_bytes
    from email.policy import default

    message = message_from_bytes(sink.received[0].data, policy=default)
    assert message["Content-Language"] == "fr"
    letter = Letter.objects.get()
    assert message["List-Unsubscribe"] == f"<mailto:optout+{letter.reply_token}@ftc.example>"
    assert message["Reply-To"].addresses[0].addr_spec == f"relay+{letter.reply_token}@ftc.example"
    assert message["From"].addresses[0].addr_spec == "relay@ftc.example"
    assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]


def test_it_retries_later_on_a_4xx_and_fails_for_good_on_a_5xx(sink, campaign):
    soft = approved(campaign, 1, contact=ContactFactory(email="full@isp.example"))[0]
    hard = approved(campaign, 1, contact=ContactFactory(email="gone@isp.example"))[0]
    sink.handler.replies = {
        "full@isp.example": "452 4.2.2 Mailbox full",
        "gone@isp.example": "550 5.1.1 No such user",
    }

    report = outbox_send(campaign_id=campaign.id, content=content)

    soft.refresh_from_db()
    hard.refresh_from_db()
    assert (report.outcomes["retry"], report.outcomes["failed"]) == (1, 1)
    assert soft.status == Letter.Status.APPROVED
    assert soft.next_attempt_at > timezone.now()
    assert "452" in soft.last_error
    assert soft.send_attempts == 1
    assert hard.status == Letter.Status.FAILED
    assert hard.last_error.startswith("550")
    assert "No such user" in hard.last_error


def test_it_gives_up_after_the_last_attempt(sink, campaign, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    letter = approved(campaign, 1, contact=ContactFactory(email="full@isp.example"))[0]
    sink.handler.replies = {"full@isp.example": "451 4.3.0 Try later"}
    outbox_send(campaign_id=campaign.id, content=content)
    Letter.objects.filter(id=letter.id).update(next_attempt_at=None)
    outbox_send(campaign_id=campaign.id, content=content)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.FAILED
    assert letter.last_error.startswith("gave up after 2 attempts")


def test_it_retries_when_the_smarthost_is_down(campaign):
    Smarthost.objects.filter(agency=campaign.lead_agency).update(port=1)
    letter = approved(campaign, 1)[0]
    report = outbox_send(campaign_id=campaign.id, content=content)
    letter.refresh_from_db()
    assert report.outcomes["retry"] == 1
    assert letter.status == Letter.Status.APPROVED
    assert letter.last_error


def test_it_defers_a_domain_over_its_rate_without_counting_an_attempt(sink, campaign, settings):
    from outreach.lib.bucket import buckets_reset

    settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 2
    buckets_reset()
    for n in range(4):
        approved(campaign, 1, contact=ContactFactory(email=f"abuse{n}@rated.example"))
    approved(campaign, 1, contact=ContactFactory(email="abuse@other.example"))
    report = outbox_send(campaign_id=campaign.id, content=content)
    assert (report.outcomes["sent"], report.outcomes["deferred"]) == (3, 2)
    waiting = Letter.objects.filter(status=Letter.Status.APPROVED)
    assert [w.send_attempts for w in waiting] == [0, 0]
    assert all(w.next_attempt_at > timezone.now() for w in waiting)
    assert {w.contact.email.split("@")[1] for w in waiting} == {"rated.example"}
    assert len(sink.received) == 3


def test_it_sends_everything_to_the_test_address_in_test_mode(sink, campaign, settings):
    settings.OUTREACH_TEST_RECIPIENT = "tester@ftc.example"
    letters = approved(campaign, 3)
    report = outbox_send(campaign_id=campaign.id, content=content)
    assert report.outcomes["sent"] == 3
    assert {tuple(r.rcpt_tos) for r in sink.received} == {("tester@ftc.example",)}
    assert Letter.objects.filter(status=Letter.Status.APPROVED).count() == 3
    stored = {letter.message_id for letter in letters}
    assert not stored & {r.message_id for r in sink.received}


def test_it_previews_without_sending_in_a_dry_run(sink, campaign):
    approved(campaign, 2)
    report = outbox_send(campaign_id=campaign.id, content=content, dry_run=True)
    assert sink.received == []
    assert "Subject: Open relay" in report.preview
    assert "Auto-Submitted: auto-generated" in report.preview
    assert Letter.objects.filter(status=Letter.Status.APPROVED).count() == 2


def test_it_refuses_a_letter_whose_address_would_inject_headers(sink, campaign):
    letter = approved(campaign, 1)[0]
    Letter.objects.filter(id=letter.id)
    letter.contact.__class__.objects.filter(id=letter.contact_id).update(
        email="abuse@isp.example\r\nBcc: x@elsewhere.example"
    )
    outbox_send(campaign_id=campaign.id, content=content)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.FAILED
    assert "refused to build" in letter.last_error
    assert sink.received == []


def test_it_skips_contacts_marked_do_not_contact(sink, campaign):
    approved(campaign, 1, contact=ContactFactory(do_not_contact=True))
    assert outbox_send(campaign_id=campaign.id, content=content).claimed == 0


def test_it_never_hands_the_same_letter_to_two_claims(campaign):
    approved(campaign, 5)
    first = letters_claim(campaign_id=campaign.id, limit=3)
    second = letters_claim(campaign_id=campaign.id, limit=10)
    mine = set(Letter.objects.filter(claim_token=first).values_list("id", flat=True))
    theirs = set(Letter.objects.filter(claim_token=second).values_list("id", flat=True))
    assert (len(mine), len(theirs), mine & theirs) == (3, 2, set())
    assert Letter.objects.filter(status=Letter.Status.SENDING, message_id__isnull=True).count() == 0


def test_it_ignores_a_result_for_a_row_its_claim_no_longer_holds(campaign):
    letter = approved(campaign, 1)[0]
    token = letters_claim(campaign_id=campaign.id, limit=1)
    Letter.objects.filter(id=letter.id).update(claimed_at=timezone.now() - timedelta(hours=1))
    outbox_recover()
    letters_record(token=token, results=[Result(letter.id, "sent")])
    letter.refresh_from_db()
    assert (letter.status, letter.outcome) == (Letter.Status.FAILED, DELIVERY_UNKNOWN)


def test_it_closes_a_dead_workers_claim_as_unknown_and_never_resends_it(sink, campaign):
    letter = approved(campaign, 1)[0]
    letters_claim(campaign_id=campaign.id, limit=1)
    assert outbox_recover() == 0  # a fresh claim belongs to a live worker
    Letter.objects.filter(id=letter.id).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert outbox_recover() == 1
    assert outbox_send(campaign_id=campaign.id, content=content).claimed == 0
    assert letters_requeue_unknown(letter_ids=[letter.id]) == 1
    assert outbox_send(campaign_id=campaign.id, content=content).outcomes["sent"] == 1
    assert len(sink.received) == 1


def test_a_limit_holds_across_agencies_and_is_reached(sink, campaign):
    # The limit is for the whole send: the second agency gets what the first
    # left, not that minus the first agency's letters again.
    partner = AgencyFactory(code="accc", name="ACCC", contact_email="relay@accc.example")
    Smarthost.objects.create(
        agency=partner, host=sink.host, port=sink.port, security="none", connections=2
    )
    campaign.partners.add(partner)
    approved(campaign, 4)
    approved(campaign, 10, agency=partner)
    report = outbox_send(campaign_id=campaign.id, content=content, limit=10)
    assert (report.claimed, report.outcomes["sent"]) == (10, 10)
    assert Letter.objects.filter(status=Letter.Status.SENT).count() == 10


def test_it_uses_djangos_backend_when_no_smarthost_is_configured(settings):
    settings.EMAIL_HOST = ""
    campaign = CampaignFactory()
    letter = LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    report = outbox_send(campaign_id=campaign.id, content=content)
    letter.refresh_from_db()
    assert report.outcomes["sent"] == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [letter.contact.email]
    assert letter.status == Letter.Status.SENT


# One server, as an agency's smarthost row or as the global EMAIL_* settings.
SERVER = {"host": "smtp.agency.example", "port": 465, "username": "relay", "connections": 3}
# The outbox-wide settings differ from SmtpSettings' defaults, so a lost one shows.
OUTBOX_WIDE = {"timeout": 12.0, "local_hostname": "mx.agency.example", "validate_certs": False}
EXPECTED = SmtpSettings(**SERVER, **OUTBOX_WIDE, security="tls", password="s3cret")


@pytest.fixture
def outbox_wide(settings):
    settings.EMAIL_TIMEOUT = 12
    settings.OUTBOX_LOCAL_HOSTNAME = "mx.agency.example"
    settings.OUTBOX_VALIDATE_CERTS = False


def test_an_agencys_smarthost_gets_the_outbox_wide_settings(outbox_wide, monkeypatch):
    agency = AgencyFactory()
    monkeypatch.setenv("SMARTHOST_PW", "s3cret")
    Smarthost.objects.create(agency=agency, security="tls", password_env="SMARTHOST_PW", **SERVER)
    with agency_transport(agency.id) as transport:
        assert transport.config == EXPECTED


@pytest.mark.parametrize(
    ("use_ssl", "use_tls", "security"),
    [(True, False, "tls"), (False, True, "starttls"), (False, False, "none")],
)
def test_the_global_email_host_gets_the_outbox_wide_settings(
    outbox_wide, settings, use_ssl, use_tls, security
):
    settings.EMAIL_HOST, settings.EMAIL_PORT = SERVER["host"], SERVER["port"]
    settings.EMAIL_USE_SSL, settings.EMAIL_USE_TLS = use_ssl, use_tls
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = SERVER["username"], "s3cret"
    settings.OUTBOX_CONNECTIONS = SERVER["connections"]
    with agency_transport(AgencyFactory().id) as transport:
        assert transport.config == dataclasses.replace(EXPECTED, security=security)


def test_it_reuses_each_pool_connection_for_many_messages(sink):
    envelopes = [
        Envelope(i, "bounces+x@ftc.example", f"abuse{i}@isp.example", b"Subject: x\r\n\r\nx\r\n")
        for i in range(40)
    ]
    config = SmtpSettings(host=sink.host, port=sink.port, security="none", connections=4)
    with SmtpPool(config) as pool:
        results = pool.send_many(envelopes[:20]) + pool.send_many(envelopes[20:])
    assert [r.state for r in results] == ["sent"] * 40
    assert pool.connects == 4
    assert len(sink.received) == 40


def test_it_keeps_the_connection_after_a_refused_recipient(sink):
    sink.handler.replies = {"gone@isp.example": "550 5.1.1 No such user"}
    envelopes = [
        Envelope(i, "bounces+x@ftc.example", rcpt, b"Subject: x\r\n\r\nx\r\n")
        for i, rcpt in enumerate(["gone@isp.example", "ok@isp.example", "gone@isp.example"])
    ]
    config = SmtpSettings(host=sink.host, port=sink.port, security="none", connections=1)
    with SmtpPool(config) as pool:
        results = pool.send_many(envelopes)
    assert [r.state for r in results] == ["failed", "sent", "failed"]
    assert pool.connects == 1


def test_a_letter_that_cannot_be_rendered_fails_alone(sink, campaign):
    broken, _other = approved(campaign, 2)

    def flaky(letter):
        if letter.pk == broken.pk:
            raise ValueError("template exploded")
        return content(letter)

    report = outbox_send(campaign_id=campaign.id, content=flaky)
    broken.refresh_from_db()
    assert (report.outcomes["sent"], report.outcomes["failed"]) == (1, 1)
    assert broken.status == Letter.Status.FAILED
    assert broken.last_error == "could not render: ValueError: template exploded"


def test_it_gives_the_claim_back_when_nothing_can_be_rendered(campaign):
    from letters.outbox import OutboxError

    approved(campaign, 2)

    def missing(letter):
        raise OutboxError("no renderer configured")

    with pytest.raises(OutboxError):
        outbox_send(campaign_id=campaign.id, content=missing)
    states = set(Letter.objects.values_list("status", "send_attempts", "claim_token"))
    assert states == {(Letter.Status.APPROVED, 0, "")}
