from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from letters.models import Letter, Smarthost
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


def test_it_sends_through_the_agency_smarthost_with_a_limit(monkeypatch, capsys):
    from lab.mailsink import MailSink
    from letters import outbox
    from tests.letter_content import content

    monkeypatch.setattr(outbox, "rendered_content", content)
    with MailSink() as sink:
        agency = AgencyFactory()
        Smarthost.objects.create(agency=agency, host=sink.host, port=sink.port, security="none")
        campaign = CampaignFactory(lead_agency=agency)
        LetterFactory.create_batch(3, campaign=campaign, status=Letter.Status.APPROVED)
        call_command(
            "send_letters", "--campaign", campaign.slug, "--agency", agency.code, "--limit", "2"
        )
    assert len(sink.received) == 2
    assert Letter.objects.filter(status=Letter.Status.SENT).count() == 2
    assert "sent 2" in capsys.readouterr().out
