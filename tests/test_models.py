"""Model constraints of the core domain."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from outreach.models import Contact, Network
from outreach.validators import normalise_email
from tests.factories import ContactFactory, HostFactory, LetterFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_the_same_ip_twice():
    HostFactory(ip="203.0.113.7")
    with pytest.raises(IntegrityError), transaction.atomic():
        HostFactory.create(ip="203.0.113.7")


def test_it_stores_ipv6_hosts_in_canonical_form():
    host = HostFactory(ip="2001:DB8:0:0::1")
    host.refresh_from_db()
    assert host.ip == "2001:db8::1"


def test_it_normalises_contact_emails_on_save():
    contact = ContactFactory(email="  Abuse@ISP.Example ")
    assert contact.email == "abuse@isp.example"


def test_it_treats_two_spellings_of_an_email_as_one_contact():
    ContactFactory(email="abuse@isp.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(email="ABUSE@isp.EXAMPLE")


@pytest.mark.parametrize(
    "bad",
    ["abuse@isp.example\r\nBcc: x@y.example", "a@b@isp.example", "abuse@", "no-at-sign", ""],
)
def test_it_rejects_hostile_or_broken_emails(bad):
    with pytest.raises(ValidationError):
        normalise_email(bad)


def test_it_idna_encodes_international_domains():
    assert normalise_email("abuse@bücher.example") == "abuse@xn--bcher-kva.example"


def test_it_finds_the_most_specific_network_holding_an_address():
    NetworkFactory(cidr="198.51.0.0/16")
    small = NetworkFactory(cidr="198.51.100.0/24")
    NetworkFactory(cidr="2001:db8::/32")
    found = list(Network.objects.containing("198.51.100.77"))
    assert found[0] == small
    assert [n.cidr for n in found] == ["198.51.100.0/24", "198.51.0.0/16"]
    assert [n.cidr for n in Network.objects.containing("2001:db8::5")] == ["2001:db8::/32"]
    assert not Network.objects.containing("192.0.2.1").exists()


def test_it_allows_one_letter_per_campaign_and_contact():
    letter = LetterFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LetterFactory(campaign=letter.campaign, contact=letter.contact, agency=letter.agency)


def test_it_gives_every_letter_a_distinct_reply_token():
    first, second = LetterFactory(), LetterFactory()
    assert len(first.reply_token) == 32
    assert first.reply_token != second.reply_token


def test_the_network_factory_never_takes_the_network_tests_create_by_hand():
    # A CI run failed when the hundredth default network was 198.51.100.0/24,
    # which the host-search tests create themselves.
    cidrs = {NetworkFactory.build().cidr for _ in range(250)}
    assert "198.51.100.0/24" not in cidrs
    assert len(cidrs) == 99
