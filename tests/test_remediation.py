from __future__ import annotations

import datetime as dt
import types

import pytest
from django.utils import timezone

from letters import remediation
from letters.models import Letter, Response
from letters.remediation import (
    letters_due,
    letters_remediate,
    outcome_from_statuses,
)
from letters.responses import response_mark
from outreach.models import Host
from tests.factories import CampaignFactory, HostFactory, LetterFactory, ResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def probes_stage(monkeypatch):
    """Stands in for probes.verify.hosts_verify: hosts in
    ``fixed`` stop relaying when re-probed, the rest still relay."""
    calls: list[list[int]] = []
    fixed: set[str] = set()

    def hosts_verify(*, host_ids, port=25, all_tests=False):
        calls.append(sorted(host_ids))
        now = timezone.now()
        for host in Host.objects.filter(id__in=host_ids):
            status = Host.Status.FIXED if host.ip in fixed else Host.Status.OPEN_RELAY
            Host.objects.filter(id=host.id).update(
                status=status, last_probed_at=now, fixed_at=now if status == "fixed" else None
            )

    monkeypatch.setattr(remediation, "hosts_verify", hosts_verify)
    return types.SimpleNamespace(calls=calls, fixed=fixed)


def letter_with_hosts(n: int, **kwargs) -> Letter:
    letter = LetterFactory(status=Letter.Status.SENT, sent_at=timezone.now(), **kwargs)
    letter.hosts.set(HostFactory.create_batch(n, status=Host.Status.OPEN_RELAY))
    return letter


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (["fixed", "fixed"], "fixed"),
        (["fixed", "not_relay"], "fixed"),
        (["fixed", "open_relay"], "partly_fixed"),
        (["open_relay"], "not_fixed"),
        (["unreachable"], "unreachable"),
        ([], "unknown"),
    ],
)
def test_it_derives_the_letter_outcome_from_its_hosts(statuses, outcome):
    assert outcome_from_statuses(statuses) == outcome


def test_it_reprobes_the_letters_hosts_and_records_the_outcome(probes_stage):
    letter = letter_with_hosts(2)
    first, second = letter.hosts.order_by("id")
    probes_stage.fixed.add(first.ip)

    assert letters_remediate(letter_ids=[letter.id]) == {letter.id: "partly_fixed"}

    probes_stage.fixed.add(second.ip)
    letters_remediate(letter_ids=[letter.id])
    letter.refresh_from_db()
    assert letter.outcome == "fixed"
    assert probes_stage.calls == [[first.id, second.id]] * 2


def test_a_fixed_claim_reprobes_at_once(
    probes_stage, django_capture_on_commit_callbacks, monkeypatch
):
    from letters import tasks

    queued = []
    monkeypatch.setattr(tasks.letters_remediate_task, "delay", queued.append)
    letter = letter_with_hosts(1)
    probes_stage.fixed.add(letter.hosts.get().ip)
    response = ResponseFactory(letter=letter)
    with django_capture_on_commit_callbacks(execute=True):
        response_mark(response_id=response.id, kind=Response.Kind.FIXED_CLAIM, user_id=None)
    assert queued == [[letter.id]]
    tasks.letters_remediate_task(*queued)
    letter.refresh_from_db()
    assert letter.outcome == "fixed"
    assert Response.objects.get().kind == Response.Kind.FIXED_CLAIM


def test_marking_an_opt_out_stops_contact():
    response = ResponseFactory()
    response_mark(response_id=response.id, kind=Response.Kind.OPT_OUT, user_id=None)
    response.letter.contact.refresh_from_db()
    assert response.letter.contact.do_not_contact


def test_it_picks_letters_past_the_deadline_whose_hosts_were_not_probed_since():
    today = dt.date(2026, 11, 27)
    past = CampaignFactory(remediation_deadline=today - dt.timedelta(days=1))
    future = CampaignFactory(remediation_deadline=today + dt.timedelta(days=5))
    due = letter_with_hosts(1, campaign=past)
    letter_with_hosts(1, campaign=future)
    probed = letter_with_hosts(1, campaign=past)
    probed.hosts.update(last_probed_at=timezone.now())
    draft = letter_with_hosts(1, campaign=past)
    Letter.objects.filter(id=draft.id).update(status=Letter.Status.DRAFT)

    assert list(letters_due(today=today)) == [due]
