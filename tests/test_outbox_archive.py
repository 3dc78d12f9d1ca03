"""The archive: the exact bytes each server took, with their hash and time."""

from __future__ import annotations

import hashlib

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from lab.mailsink import DROP
from letters import recipient
from letters.archive import sent_message_bytes, sent_message_latest
from letters.blobs import blob_path
from letters.models import Letter, SentMessage
from letters.outbox import outbox_send
from tests.factories import LetterFactory
from tests.letter_content import content
from tests.outbox_helpers import sink_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(sink):
    return sink_campaign(sink, connections=2)


def test_the_archive_hash_equals_the_bytes_the_sink_received(sink, campaign):
    LetterFactory.create_batch(3, campaign=campaign, status=Letter.Status.APPROVED)
    before = timezone.now()
    outbox_send(campaign_id=campaign.id, content=content)
    after = timezone.now()

    by_id = {r.message_id: r.data for r in sink.received}
    archived = list(SentMessage.objects.select_related("letter"))
    assert len(archived) == 3
    for sent in archived:
        received = by_id[sent.message_id]
        assert sent.message_id == sent.letter.message_id
        assert sent.sha256 == hashlib.sha256(received).hexdigest()
        assert sent_message_bytes(sent) == received
        assert sent.size == len(received)
        assert before <= sent.accepted_at <= after


def test_a_lost_reply_is_archived_without_an_acceptance_time(sink, campaign):
    letter = LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    sink.handler.data_replies[letter.contact.email] = DROP
    outbox_send(campaign_id=campaign.id, content=content)
    sent = SentMessage.objects.get()
    assert sent.accepted_at is None
    assert sent.sha256 == hashlib.sha256(sink.received[0].data).hexdigest()


def test_a_refused_message_is_not_archived(sink, campaign):
    letter = LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    sink.handler.data_replies[letter.contact.email] = "554 5.7.1 Rejected"
    outbox_send(campaign_id=campaign.id, content=content)
    assert not SentMessage.objects.exists()


def test_an_altered_archive_file_is_refused(sink, campaign):
    LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    outbox_send(campaign_id=campaign.id, content=content)
    sent = SentMessage.objects.get()
    blob_path(sent.sha256).write_bytes(b"forged")
    from letters.blobs import BlobMissing

    with pytest.raises(BlobMissing):
        sent_message_bytes(sent)


def test_the_admin_letter_page_downloads_the_message_as_sent(sink, campaign, admin_client):
    letter = LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    outbox_send(campaign_id=campaign.id, content=content)
    sent = SentMessage.objects.get()

    page = admin_client.get(reverse("admin:letters_letter_change", args=[letter.pk]))
    url = reverse("admin:letters_letter_sent_message", args=[letter.pk, sent.pk])
    assert url.encode() in page.content
    assert b"Download the message as sent" in page.content
    download = admin_client.get(url)

    assert download.status_code == 200
    assert download["Content-Type"] == "message/rfc822"
    assert download.content == sink.received[0].data
    assert LogEntry.objects.filter(additional_data__event="download sent message").count() == 1


def test_the_recipient_page_shows_the_letter_we_sent(sink, campaign, client, settings):
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"
    letter = LetterFactory(campaign=campaign, status=Letter.Status.APPROVED)
    page_url = recipient.recipient_url(letter=letter).removeprefix(settings.OUTREACH_PUBLIC_URL)
    assert client.get(f"{page_url}letter/").status_code == 404  # nothing sent yet
    assert b"letter/?lang=" not in client.get(page_url).content

    outbox_send(campaign_id=campaign.id, content=content)

    assert b"letter/?lang=" in client.get(page_url).content
    shown = client.get(f"{page_url}letter/")
    assert shown.status_code == 200
    assert f"Open relay {letter.pk}".encode() in shown.content
    assert f"Letter {letter.pk}".encode() in shown.content
    assert sent_message_latest(letter_id=letter.pk).sha256.encode() in shown.content


def test_the_data_step_dot_stuffs_so_the_sink_gets_the_bytes_unchanged(sink):
    from letters.transport import Envelope, SmtpPool, SmtpSettings

    data = b"Subject: dots\r\nMessage-ID: <d.1@ftc.example>\r\n\r\n.hidden\r\n..two\r\n.\r\nend\r\n"
    config = SmtpSettings(host=sink.host, port=sink.port, security="none", connections=1)
    with SmtpPool(config) as pool:
        [result] = pool.send_many([Envelope(1, "b@ftc.example", "r@isp.example", data)])
    assert result.state == "sent"
    assert sink.received[0].data == data
