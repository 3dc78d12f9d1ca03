"""probes.abusix: the Abusix-format DNS source, against a lab zone on loopback."""

from __future__ import annotations

import pytest

from lab.abusix_dns import AbusixDnsServer, name_address
from probes import abusix

ZONE_DATA = {
    "192.0.2.1": ["abuse@isp.example"],
    "192.0.2.2": ["Abuse@ISP2.example", "noc@isp2.example", "abuse@isp2.example"],
    "2001:db8::1": ["abuse@v6.example"],
}


@pytest.fixture
def zone():
    with AbusixDnsServer(ZONE_DATA.get, silent={"192.0.2.99"}) as server:
        yield server


def source(server: AbusixDnsServer, **kwargs) -> abusix.AbusixSource:
    return abusix.AbusixSource(resolver=server.address, **kwargs)


def test_it_names_ipv4_by_reversed_octets_and_ipv6_by_reversed_nibbles():
    assert abusix.query_name("192.0.2.1") == "1.2.0.192.abuse-contacts.abusix.zone"
    name = abusix.query_name("2001:db8::1")
    assert name == "1." + "0." * 23 + "8.b.d.0.1.0.0.2.abuse-contacts.abusix.zone"
    # The lab zone reads the same names back.
    assert name_address(name) == "2001:db8::1"


def test_it_reads_every_address_of_a_txt_answer_in_order(zone):
    answer = source(zone).lookup_many(["192.0.2.2"])["192.0.2.2"]
    assert answer.status == abusix.FOUND
    assert answer.emails == ("abuse@isp2.example", "noc@isp2.example")


def test_it_answers_ipv6_addresses(zone):
    assert source(zone).lookup_many(["2001:db8::1"])["2001:db8::1"].emails == ("abuse@v6.example",)


def test_it_caches_answers_and_nxdomain(zone):
    dns = source(zone)
    first = dns.lookup_many(["192.0.2.1", "192.0.2.50"])
    assert first["192.0.2.50"].status == abusix.NXDOMAIN
    again = dns.lookup_many(["192.0.2.1", "192.0.2.50", "192.0.2.1"])
    assert again == first
    assert zone.queries == 2 and dns.queries == 2


def test_a_timeout_says_nothing_and_is_not_cached(zone):
    dns = source(zone, timeout=0.3)
    answer = dns.lookup_many(["192.0.2.99"])["192.0.2.99"]
    assert (answer.status, answer.retry, answer.emails) == (abusix.TIMEOUT, True, ())
    dns.lookup_many(["192.0.2.99"])
    assert dns.queries == 2


@pytest.mark.parametrize("bound", [1, 3])
def test_it_never_has_more_queries_in_flight_than_its_bound(bound):
    with AbusixDnsServer(lambda ip: ["abuse@isp.example"], latency=0.02) as server:
        ips = [f"198.51.100.{n}" for n in range(1, 25)]
        answers = source(server, max_in_flight=bound).lookup_many(ips)
    assert all(a.status == abusix.FOUND for a in answers.values())
    assert 1 <= server.max_in_flight <= bound


def test_it_drops_text_that_is_not_an_address():
    assert abusix.txt_addresses(['"abuse@a.example, nonsense ,abuse@a.example"']) == [
        "abuse@a.example"
    ]
