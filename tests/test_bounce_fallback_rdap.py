"""A hard bounce disables the contact and the letter moves down the RDAP chain
(the contacts stage's real contact_fallback, RDAP from the loopback simulator)."""

from __future__ import annotations

from pathlib import Path

import pytest

from letters.inbound import mail_ingest
from letters.models import Letter
from outreach.models import Contact
from probes.contacts import contacts_lookup
from tests import test_contacts
from tests.factories import LetterFactory
from tests.test_contacts import host

pytestmark = pytest.mark.django_db
# The contacts stage's fixtures: the RDAP simulator on loopback and its campaign.
rdap_settings = test_contacts._rdap_settings
rdap_sim = test_contacts.sim
rdap_campaign = test_contacts.campaign
BOUNCE = Path(__file__).parent / "fixtures" / "bounces" / "postfix_01.txt"


def test_a_disabled_contact_hands_the_letter_to_the_next_rdap_contact(
    rdap_sim, rdap_campaign, settings
):
    settings.BOUNCE_DISABLE_SCORE = 1
    relay = host("210.107.73.73", rdap_campaign)
    contacts_lookup(host_ids=[relay.id])
    first = Contact.objects.get(email="abuse@bora.net")
    letter = LetterFactory(campaign=rdap_campaign, contact=first, status=Letter.Status.SENT)
    letter.hosts.add(relay)

    verp = f"bounces+{letter.reply_token}@{letter.agency.reply_domain}"
    mail_ingest(raw=BOUNCE.read_bytes(), envelope_recipients=(verp,))

    first.refresh_from_db()
    letter.refresh_from_db()
    assert first.do_not_contact
    assert letter.contact.email == "ipadm@nic.bora.net"
    assert (letter.status, letter.outcome) == (Letter.Status.DRAFT, "fallback_contact")
