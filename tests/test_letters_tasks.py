from __future__ import annotations

import pytest

from letters import outbox, tasks
from letters.models import Letter
from tests.factories import CampaignFactory, LetterFactory, MailboxFactory
from tests.letter_content import content

pytestmark = pytest.mark.django_db


def test_the_send_task_hands_on_to_a_fresh_task_while_letters_remain(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX_TASK_LETTERS = 2
    settings.EMAIL_HOST = ""
    monkeypatch.setattr(outbox, "rendered_content", content)
    queued = []
    monkeypatch.setattr(tasks.letters_send_task, "delay", lambda *a: queued.append(a))
    campaign = CampaignFactory()
    LetterFactory.create_batch(3, campaign=campaign, status=Letter.Status.APPROVED)

    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.letters_send_task(campaign.id)
    assert first["sent"] == 2
    assert queued == [(campaign.id, None)]

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        second = tasks.letters_send_task(campaign.id)
    assert second["sent"] == 1
    assert queued == []


def test_the_poll_task_fans_out_one_task_per_active_mailbox(monkeypatch):
    active = MailboxFactory()
    MailboxFactory(is_active=False)
    queued = []
    monkeypatch.setattr(tasks.mailbox_poll_task, "delay", queued.append)
    assert tasks.mailboxes_poll_task() == 1
    assert queued == [active.id]


def test_the_poll_task_returns_quietly_for_a_mailbox_that_is_gone():
    assert tasks.mailbox_poll_task(123456) == 0


def test_the_daily_remediation_fans_out_due_letters_in_batches(settings, monkeypatch):
    import datetime as dt

    from django.utils import timezone

    from outreach.models import Host
    from tests.factories import HostFactory

    settings.REMEDIATION_BATCH = 2
    campaign = CampaignFactory(remediation_deadline=timezone.localdate() - dt.timedelta(days=1))
    letters = LetterFactory.create_batch(3, campaign=campaign, status=Letter.Status.SENT)
    for letter in letters:
        letter.hosts.add(HostFactory(status=Host.Status.OPEN_RELAY))
    queued = []
    monkeypatch.setattr(tasks.letters_remediate_task, "delay", queued.append)
    assert tasks.campaigns_remediate_task() == 3
    assert sorted(len(batch) for batch in queued) == [1, 2]
    assert sorted(i for batch in queued for i in batch) == sorted(x.id for x in letters)
