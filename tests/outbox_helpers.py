"""The outbox tests' sink and a campaign whose lead agency sends through it."""

from __future__ import annotations

import pytest

from lab.mailsink import MailSink
from letters.models import Smarthost
from tests.factories import AgencyFactory, CampaignFactory


@pytest.fixture
def sink():
    with MailSink() as running:
        yield running


def sink_campaign(sink: MailSink, *, connections: int):
    """A campaign led by an agency whose smarthost is the sink."""
    agency = AgencyFactory(code="ftc", name="FTC", contact_email="relay@ftc.example")
    Smarthost.objects.create(
        agency=agency, host=sink.host, port=sink.port, security="none", connections=connections
    )
    return CampaignFactory(lead_agency=agency)
