"""The outbox with the letters stage's real renderer and PDF, end to end to the sink."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from lab.mailsink import MailSink
from letters.models import Letter, Smarthost
from letters.outbox import letter_preview, outbox_send
from tests.factories import AgencyFactory, CampaignFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


@pytest.mark.parametrize(("language", "word"), [("fr", "relais"), ("ja", "オープンメールリレー")])
def test_it_sends_the_rendered_letter_in_its_language_with_the_pdf(language, word):
    with MailSink() as sink:
        agency = AgencyFactory(code="ftc", name="FTC", contact_email="relay@ftc.example")
        Smarthost.objects.create(agency=agency, host=sink.host, port=sink.port, security="none")
        campaign = CampaignFactory(lead_agency=agency)
        letter = letter_with_relays(language=language, campaign=campaign, agency=agency)
        Letter.objects.filter(id=letter.id).update(status=Letter.Status.APPROVED)

        assert outbox_send(campaign_id=campaign.id).outcomes["sent"] == 1

    message = message_from_bytes(sink.received[0].data, policy=default)
    letter.refresh_from_db()
    assert message["Message-ID"] == letter.message_id
    assert message["Content-Language"] == language
    assert word in message["Subject"]
    assert letter.hosts.get().ip in message.get_body(("plain",)).get_content()
    pdf = next(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")


def test_the_preview_is_the_rendered_message():
    letter = letter_with_relays(language="fr")
    preview = letter_preview(letter_id=letter.id)
    assert "Content-Language: fr" in preview
    assert "Auto-Submitted: auto-generated" in preview
