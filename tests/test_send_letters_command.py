from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from letters.models import Letter, Smarthost
from tests.command_io import bar_drawn, json_lines, run_command
from tests.factories import AgencyFactory, CampaignFactory, LetterFactory

pytestmark = pytest.mark.django_db


def test_it_names_an_unknown_campaign():
    with pytest.raises(CommandError, match="No campaign with slug 'nope'"):
        call_command("send_letters", "--campaign", "nope")


def test_it_names_an_unknown_agency():
    campaign = CampaignFactory()
    with pytest.raises(CommandError, match="No agency with code 'xx'"):
        call_command("send_letters", "--campaign", campaign.slug, "--agency", "xx")


def test_it_refuses_a_limit_below_one():
    campaign = CampaignFactory()
    with pytest.raises(CommandError, match="--limit"):
        call_command("send_letters", "--campaign", campaign.slug, "--limit", "0")


@pytest.fixture
def smarthost(monkeypatch):
    """A campaign of three approved letters and its agency's smarthost, a mail sink."""
    from lab.mailsink import MailSink
    from letters import outbox
    from tests.letter_content import content

    monkeypatch.setattr(outbox, "rendered_content", content)
    with MailSink() as sink:
        agency = AgencyFactory()
        Smarthost.objects.create(agency=agency, host=sink.host, port=sink.port, security="none")
        campaign = CampaignFactory(lead_agency=agency)
        LetterFactory.create_batch(3, campaign=campaign, status=Letter.Status.APPROVED)
        yield sink, campaign


def test_it_sends_through_the_agency_smarthost_with_a_limit(smarthost, capsys):
    sink, campaign = smarthost
    agency = campaign.lead_agency
    call_command(
        "send_letters", "--campaign", campaign.slug, "--agency", agency.code, "--limit", "2"
    )
    assert len(sink.received) == 2
    assert Letter.objects.filter(status=Letter.Status.SENT).count() == 2
    assert "sent 2" in capsys.readouterr().out


def test_it_prints_a_preview_and_the_figures_as_json(smarthost):
    sink, campaign = smarthost
    preview, summary = json_lines(
        run_command("send_letters", "--campaign", campaign.slug, "--dry-run", "--json")[0]
    )
    assert "Subject:" in preview["preview"]
    assert (summary["sent"], summary["dry_run"]) == (0, True)
    [summary] = json_lines(run_command("send_letters", "--campaign", campaign.slug, "--json")[0])
    figures = {"retry": 0, "failed": 0, "unknown": 0, "deferred": 0}
    assert summary == {"summary": True, "claimed": 3, "sent": 3} | figures | {"dry_run": False}
    assert len(sink.received) == 3


def test_it_shows_the_sending_progress_on_a_terminal_only(smarthost):
    _sink, campaign = smarthost
    args = ("send_letters", "--campaign", campaign.slug, "--limit", "1")
    out, err = run_command(*args, tty=True)
    assert bar_drawn(err) and "1/1" in err
    assert "sent 1" in out and not bar_drawn(out)
    assert not bar_drawn(run_command(*args)[1])
    assert not bar_drawn(run_command(*args, "--json", tty=True)[1])
