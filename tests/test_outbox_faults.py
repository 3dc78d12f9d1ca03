"""A smarthost that fails 10% of messages: 421, 451, 550 or a dropped connection."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone

from lab.mailsink import DROP, MailSink
from letters.models import Letter
from letters.outbox import outbox_send
from tests.factories import LetterFactory
from tests.letter_content import content
from tests.outbox_helpers import sink_campaign

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {
    "421 4.3.2 Service not available, closing channel": "retry",
    "451 4.7.1 Greylisted, try again later": "retry",
    "550 5.1.1 No such user here": "failed",
    DROP: "retry",
}


def test_it_retries_transient_faults_and_fails_permanent_ones_sending_each_once(settings):
    settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 0
    with MailSink() as sink:
        campaign = sink_campaign(sink, connections=2)
        letters = LetterFactory.create_batch(40, campaign=campaign, status=Letter.Status.APPROVED)
        faulty = dict(zip(letters[::10], FAULTS, strict=True))  # 4 of 40: 10%
        for letter, reply in faulty.items():
            sink.handler.replies[letter.contact.email] = reply

        first = outbox_send(campaign_id=campaign.id, content=content)
        assert (first.outcomes["sent"], first.outcomes["retry"], first.outcomes["failed"]) == (
            36,
            3,
            1,
        )
        for letter, reply in faulty.items():
            letter.refresh_from_db()
            if FAULTS[reply] == "failed":
                assert letter.status == Letter.Status.FAILED
                assert "550" in letter.last_error
            else:
                assert letter.status == Letter.Status.APPROVED
                assert letter.next_attempt_at > timezone.now()

        # The servers recover and the retry time comes: only the three go again.
        sink.handler.replies.clear()
        Letter.objects.filter(status=Letter.Status.APPROVED).update(next_attempt_at=timezone.now())
        second = outbox_send(campaign_id=campaign.id, content=content)
        received = Counter(r.message_id for r in sink.received)

    assert (second.outcomes["sent"], second.outcomes["failed"]) == (3, 0)
    assert len(received) == 39 and max(received.values()) == 1
    states = Counter(Letter.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert states == {Letter.Status.SENT: 39, Letter.Status.FAILED: 1}
