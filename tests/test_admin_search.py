"""Host and letter search: address, prefix, CIDR, AS, email, organisation."""

from __future__ import annotations

import ipaddress

import pytest
from django.urls import reverse

from outreach.admin_search import parse_network
from tests.factories import ContactFactory, HostFactory, LetterFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def test_it_reads_prefixes_and_cidrs_as_networks():
    assert parse_network("198.51.100.") == ipaddress.ip_network("198.51.100.0/24")
    assert parse_network("10.") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_network("198.51.100.7/24") == ipaddress.ip_network("198.51.100.0/24")
    assert parse_network("2001:db8::/32") == ipaddress.ip_network("2001:db8::/32")
    assert parse_network("300.1.") is None
    assert parse_network("mail.example") is None


@pytest.fixture
def hosts():
    net = NetworkFactory(cidr="198.51.100.0/24", asn=64500)
    org = ContactFactory(email="abuse@isp.example", organisation="Example Telecom")
    inside = [
        HostFactory(ip="198.51.100.9", network=net, contact=org),
        HostFactory(ip="198.51.100.10", asn=64500),
        HostFactory(ip="198.51.100.255"),
    ]
    outside = [
        HostFactory(ip="198.51.101.1", country="NL", last_verdict="open_relay"),
        HostFactory(ip="198.51.10.1"),
        HostFactory(ip="2001:db8::1"),
    ]
    return inside, outside


def _found(admin_client, url, term):
    response = admin_client.get(url, {"q": term})
    assert response.status_code == 200
    return {str(obj) for obj in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("198.51.100.", {"198.51.100.9", "198.51.100.10", "198.51.100.255"}),
        ("198.51.100.0/24", {"198.51.100.9", "198.51.100.10", "198.51.100.255"}),
        ("198.51.100.8/29", {"198.51.100.9", "198.51.100.10"}),
        ("198.51.100.248/29", {"198.51.100.255"}),
        (
            "198.51.",
            {"198.51.100.9", "198.51.100.10", "198.51.100.255", "198.51.101.1", "198.51.10.1"},
        ),
        ("AS64500", {"198.51.100.9", "198.51.100.10"}),
        ("as64500", {"198.51.100.9", "198.51.100.10"}),
        ("198.51.100.10", {"198.51.100.10"}),
        ("ABUSE@ISP.example", {"198.51.100.9"}),
        ("example telecom", {"198.51.100.9"}),
        ("2001:db8::/64", {"2001:db8::1"}),
    ],
)
def test_it_finds_hosts_by_address_prefix_cidr_as_email_or_organisation(
    admin_client, hosts, term, expected
):
    assert _found(admin_client, reverse("admin:outreach_host_changelist"), term) == expected


def test_it_finds_letters_by_a_hosts_address_or_range(admin_client, hosts):
    inside, outside = hosts
    letter = LetterFactory()
    letter.hosts.add(inside[0], inside[1])
    other = LetterFactory()
    other.hosts.add(outside[0])
    url = reverse("admin:letters_letter_changelist")
    assert _found(admin_client, url, "198.51.100.9") == {str(letter)}
    assert _found(admin_client, url, "198.51.100.0/24") == {str(letter)}  # once, not twice
    assert _found(admin_client, url, "198.51.101.") == {str(other)}


def test_it_filters_hosts_by_country_and_as_with_labels(admin_client, hosts):
    url = reverse("admin:outreach_host_changelist")
    response = admin_client.get(url, {"asn": "64500"})
    assert {str(h) for h in response.context["cl"].result_list} == {"198.51.100.10"}
    response = admin_client.get(url, {"country": "NL"})
    assert {str(h) for h in response.context["cl"].result_list} == {"198.51.101.1"}
    page = admin_client.get(url).content.decode()
    assert '<td class="field-asn_display">AS64500</td>' in page
    assert '<td class="field-verdict_display">Open relay</td>' in page
