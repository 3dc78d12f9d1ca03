"""A reply lost after the end of DATA: delivery unknown, never resent on its own."""

from __future__ import annotations

from collections import Counter

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from lab.mailsink import DROP, HANG
from letters import recipient
from letters.delivery import letter_delivery_confirm
from letters.inbound import mail_ingest
from letters.models import Letter
from letters.outbox import DELIVERY_UNKNOWN, letters_requeue_unknown, outbox_send
from outreach.models import Membership
from tests.factories import LetterFactory, MembershipFactory
from tests.letter_content import content
from tests.outbox_helpers import sink_campaign
from tests.test_inbound import reply, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(sink):
    return sink_campaign(sink, connections=2)


def approved(campaign, n: int) -> list[Letter]:
    return LetterFactory.create_batch(n, campaign=campaign, status=Letter.Status.APPROVED)


def unknown_letter(campaign) -> Letter:
    letter = approved(campaign, 1)[0]
    Letter.objects.filter(id=letter.id).update(
        status=Letter.Status.FAILED, outcome=DELIVERY_UNKNOWN, message_id="<old.1@ftc.example>"
    )
    return Letter.objects.get(id=letter.id)


def retry_time_comes() -> None:
    Letter.objects.filter(status=Letter.Status.APPROVED).update(next_attempt_at=timezone.now())


def test_a_drop_after_the_data_is_delivery_unknown_and_never_sent_twice(sink, campaign):
    letters = approved(campaign, 6)
    lost = letters[2]
    sink.handler.data_replies[lost.contact.email] = DROP

    first = outbox_send(campaign_id=campaign.id, content=content)
    sink.handler.data_replies.clear()
    retry_time_comes()
    second = outbox_send(campaign_id=campaign.id, content=content)

    lost.refresh_from_db()
    assert (
        first.outcomes["sent"],
        first.outcomes["unknown"],
        first.outcomes["retry"],
        second.claimed,
    ) == (5, 1, 0, 0)
    assert (lost.status, lost.outcome) == (Letter.Status.FAILED, DELIVERY_UNKNOWN)
    assert "no reply after the end of DATA" in lost.last_error
    received = Counter(r.message_id for r in sink.received)
    assert len(received) == 6 and max(received.values()) == 1
    assert received[lost.message_id] == 1  # the server did take it


def test_a_timeout_waiting_for_the_reply_after_the_data_is_delivery_unknown(
    sink, campaign, settings
):
    settings.EMAIL_TIMEOUT = 0.5
    lost = approved(campaign, 1)[0]
    sink.handler.data_replies[lost.contact.email] = HANG

    report = outbox_send(campaign_id=campaign.id, content=content)

    lost.refresh_from_db()
    assert (report.outcomes["unknown"], report.outcomes["retry"]) == (1, 0)
    assert lost.outcome == DELIVERY_UNKNOWN
    assert "Timeout" in lost.last_error


def test_a_421_after_the_data_is_retried_once_and_delivered_once(sink, campaign):
    letters = approved(campaign, 4)
    refused = letters[1]
    sink.handler.data_replies[refused.contact.email] = "421 4.3.2 Shutting down"

    first = outbox_send(campaign_id=campaign.id, content=content)
    refused.refresh_from_db()
    assert (first.outcomes["sent"], first.outcomes["retry"], first.outcomes["unknown"]) == (3, 1, 0)
    assert (refused.status, refused.outcome) == (Letter.Status.APPROVED, "")

    sink.handler.data_replies.clear()
    retry_time_comes()
    second = outbox_send(campaign_id=campaign.id, content=content)
    refused.refresh_from_db()
    received = Counter(r.message_id for r in sink.received)
    assert (second.outcomes["sent"], refused.send_attempts, refused.status) == (
        1,
        2,
        Letter.Status.SENT,
    )
    assert len(received) == 4 and max(received.values()) == 1


def test_a_drop_before_the_data_ends_keeps_the_retry_rule(sink, campaign):
    letter = approved(campaign, 1)[0]
    sink.handler.replies[letter.contact.email] = DROP  # at RCPT: nothing delivered
    report = outbox_send(campaign_id=campaign.id, content=content)
    letter.refresh_from_db()
    assert (report.outcomes["retry"], report.outcomes["unknown"]) == (1, 0)
    assert (letter.status, letter.outcome) == (Letter.Status.APPROVED, "")


def test_a_reply_to_the_letter_marks_it_sent(campaign):
    letter = unknown_letter(campaign)
    mail_ingest(raw=reply(To=f"FTC <relay+{letter.reply_token}@ftc.example>"))
    letter.refresh_from_db()
    assert (letter.status, letter.outcome) == (Letter.Status.ANSWERED, "")
    assert letter.sent_at is not None
    entry = LogEntry.objects.get(additional_data__event="delivery confirmed")
    assert entry.additional_data["note"] == "confirmed by reply by email"


def test_a_bounce_for_the_letter_marks_it_sent_then_bounced(campaign):
    letter = unknown_letter(campaign)
    verp = f"bounces+{letter.reply_token}@ftc.example"
    mail_ingest(raw=sample("postfix_01.txt"), envelope_recipients=(verp,))
    letter.refresh_from_db()
    assert (letter.status, letter.outcome) == (Letter.Status.BOUNCED, "")


def test_a_visit_to_the_recipient_page_marks_it_sent(campaign, client, settings):
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"
    letter = unknown_letter(campaign)
    url = recipient.recipient_url(letter=letter).removeprefix(settings.OUTREACH_PUBLIC_URL)
    assert client.get(url).status_code == 200
    letter.refresh_from_db()
    assert (letter.status, letter.outcome) == (Letter.Status.SENT, "")


def test_confirming_a_letter_that_was_not_unknown_changes_nothing(campaign):
    letter = approved(campaign, 1)[0]
    Letter.objects.filter(id=letter.id).update(status=Letter.Status.FAILED, last_error="550")
    assert letter_delivery_confirm(letter_id=letter.id, evidence="test") is False
    letter.refresh_from_db()
    assert letter.status == Letter.Status.FAILED


def test_resending_as_a_new_message_gets_a_new_message_id_and_an_audit_entry(sink, campaign):
    letter = unknown_letter(campaign)
    assert letters_requeue_unknown(letter_ids=[letter.id]) == 1
    outbox_send(campaign_id=campaign.id, content=content)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.SENT
    assert letter.message_id not in ("<old.1@ftc.example>", None)
    assert [r.message_id for r in sink.received] == [letter.message_id]
    entry = LogEntry.objects.get(additional_data__event="resend as a new message")
    assert entry.changes["message_id"] == ["<old.1@ftc.example>", "None"]


def coordinator(agency):
    user = MembershipFactory(agency=agency, role=Membership.Role.COORDINATOR).user
    for codename in ("view_campaign", "change_campaign", "change_letter", "send_letter"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_an_investigator_marks_an_unknown_letter_as_sent_in_the_admin(client, campaign):
    letter = unknown_letter(campaign)
    other = approved(campaign, 1)[0]
    client.force_login(coordinator(campaign.lead_agency))
    client.post(
        reverse("admin:letters_letter_changelist"),
        {"action": "mark_sent", "_selected_action": [letter.pk, other.pk]},
    )
    letter.refresh_from_db()
    other.refresh_from_db()
    assert (letter.status, other.status) == (Letter.Status.SENT, Letter.Status.APPROVED)
    entry = LogEntry.objects.get(additional_data__event="delivery confirmed")
    assert entry.additional_data["note"] == "marked as sent by an investigator"


def test_the_outbox_page_and_the_dashboard_count_unknown_deliveries(client, campaign):
    unknown_letter(campaign)
    client.force_login(coordinator(campaign.lead_agency))
    page = client.get(reverse("admin:campaign_outbox", args=[campaign.pk]))
    assert b"Delivery unknown: <strong>1</strong>" in page.content
    dashboard = client.get(reverse("admin:campaign_dashboard", args=[campaign.pk]))
    assert b"<th>Delivery unknown</th>" in dashboard.content
    export = client.get(reverse("admin:campaign_dashboard_csv", args=[campaign.pk]))
    header, *_rows, total = export.content.decode().splitlines()
    assert total.split(",")[header.split(",").index("delivery_unknown")] == "1"
