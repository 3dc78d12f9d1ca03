"""The special-purpose address table, checked against the IANA registries."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes import addresses

# An independent copy of the IANA IPv4 and IPv6 Special-Purpose Address
# Registries (address block, "Globally Reachable": True, False or None for
# N/A), as published in 2025, plus multicast from the multicast registries.
IANA_IPV4 = [
    ("0.0.0.0/8", False),
    ("0.0.0.0/32", False),
    ("10.0.0.0/8", False),
    ("100.64.0.0/10", False),
    ("127.0.0.0/8", False),
    ("169.254.0.0/16", False),
    ("172.16.0.0/12", False),
    ("192.0.0.0/24", False),
    ("192.0.0.0/29", False),
    ("192.0.0.8/32", False),
    ("192.0.0.9/32", True),
    ("192.0.0.10/32", True),
    ("192.0.0.170/32", False),
    ("192.0.0.171/32", False),
    ("192.0.2.0/24", False),
    ("192.31.196.0/24", True),
    ("192.52.193.0/24", True),
    ("192.88.99.0/24", None),
    ("192.168.0.0/16", False),
    ("192.175.48.0/24", True),
    ("198.18.0.0/15", False),
    ("198.51.100.0/24", False),
    ("203.0.113.0/24", False),
    ("224.0.0.0/4", False),
    ("240.0.0.0/4", False),
    ("255.255.255.255/32", False),
]
IANA_IPV6 = [
    ("::1/128", False),
    ("::/128", False),
    ("64:ff9b:1::/48", False),
    ("100::/64", False),
    ("100:0:0:1::/64", False),
    ("2001::/23", False),
    ("2001::/32", None),
    ("2001:1::1/128", True),
    ("2001:1::2/128", True),
    ("2001:1::3/128", True),
    ("2001:2::/48", False),
    ("2001:3::/32", True),
    ("2001:4:112::/48", True),
    ("2001:10::/28", None),
    ("2001:20::/28", True),
    ("2001:30::/28", True),
    ("2001:db8::/32", False),
    ("2620:4f:8000::/48", True),
    ("3fff::/20", False),
    ("5f00::/16", False),
    ("fc00::/7", False),
    ("fe80::/10", False),
    ("ff00::/8", False),
]
# Blocks that carry an IPv4 address: judged by the address they carry.
IANA_EMBEDDING = ["::ffff:0:0/96", "64:ff9b::/96", "2002::/16"]
ALL_BLOCKS = [(ipaddress.ip_network(c), r) for c, r in IANA_IPV4 + IANA_IPV6]


def _more_specific_holds(address, network) -> bool:
    return any(
        other != network and other.prefixlen > network.prefixlen and address in other
        for other, _ in ALL_BLOCKS
        if other.version == network.version
    )


@pytest.mark.parametrize(("network", "reachable"), ALL_BLOCKS, ids=str)
def test_it_answers_like_the_iana_registry_for_every_block(network, reachable):
    points = {network.network_address, network.broadcast_address}
    if network.num_addresses > 2:
        points.add(network.network_address + network.num_addresses // 2)
    checked = [p for p in points if not _more_specific_holds(p, network)]
    assert checked, network
    for point in checked:
        assert addresses.is_global(point) is (reachable is True), point


def test_every_iana_block_is_in_the_table():
    table = {str(block.network) for block in addresses.SPECIAL_BLOCKS}
    registry = {str(net) for net, _ in ALL_BLOCKS} | set(IANA_EMBEDDING)
    assert registry <= table


@pytest.mark.parametrize(
    "ip",
    ["224.0.0.1", "239.255.255.250", "192.88.99.1", "100.64.0.1", "100.127.255.254", "0.1.2.3"],
)
def test_it_refuses_what_python_is_global_gets_wrong_or_forgets(ip):
    assert addresses.refusal_reason(ip) == addresses.NON_GLOBAL


@pytest.mark.parametrize(
    ("ip", "probeable"),
    [
        ("::ffff:10.1.2.3", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.4.4", True),
        ("64:ff9b::10.0.0.1", False),
        ("64:ff9b::198.51.100.1", False),
        ("64:ff9b::8.8.4.4", True),
        ("64:ff9b:1::8.8.4.4", False),
        ("2002:c000:0201::1", False),  # 6to4 of 192.0.2.1
        ("2002:0a00:0001::1", False),  # 6to4 of 10.0.0.1
        ("2002:0808:0404::1", True),  # 6to4 of 8.8.4.4
        ("2001:0:4136:e378::1", False),  # Teredo
        ("2a00:1450::1", True),
    ],
)
def test_it_judges_embedded_ipv4_forms_by_the_address_they_carry(ip, probeable):
    assert (addresses.refusal_reason(ip) is None) is probeable


def test_it_spells_mapped_and_nat64_forms_as_plain_ipv4():
    assert str(addresses.canonical_address("::ffff:8.8.4.4")) == "8.8.4.4"
    assert str(addresses.canonical_address("64:ff9b::808:404")) == "8.8.4.4"
    assert str(addresses.canonical_address("2a00:1450::1")) == "2a00:1450::1"


def test_it_refuses_never_contact_networks_before_anything_else():
    never = addresses.parse_networks(["8.8.8.0/24", "2a00:1450::/32"])
    assert addresses.refusal_reason("8.8.8.8", never_contact=never) == addresses.NEVER_CONTACT
    assert addresses.refusal_reason("::ffff:8.8.8.8", never_contact=never) == "never_contact"
    assert addresses.refusal_reason("2a00:1450::5", never_contact=never) == "never_contact"
    assert addresses.refusal_reason("8.8.4.4", never_contact=never) is None


def test_it_lets_a_lab_reach_its_allowed_networks_only():
    allowed = addresses.parse_networks(["127.0.0.0/8"])
    assert addresses.refusal_reason("127.0.0.5", allowed=allowed) is None
    assert addresses.refusal_reason("10.0.0.5", allowed=allowed) is not None
    never = addresses.parse_networks(["127.0.0.5/32"])
    assert addresses.refusal_reason("127.0.0.5", allowed=allowed, never_contact=never) is not None


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("1.4.0.0/17", None),
        ("2a06:e480::/29", None),
        ("10.0.0.0/8", "non_global"),
        ("0.0.0.0/0", "non_global"),
        ("0.0.0.0/4", "non_global"),  # reaches into 0/8 and 10/8
        ("192.0.0.8/29", "non_global"),  # crosses 192.0.0.9 and 192.0.0.10 into non-global
        ("2001:20::/28", None),  # ORCHIDv2, a global block inside 2001::/23
        ("2001::/16", "non_global"),
        ("2002::/16", "non_global"),
        ("2002:0808:0404::/48", None),
    ],
)
def test_it_refuses_networks_that_touch_special_blocks(cidr, reason):
    assert addresses.network_refusal_reason(ipaddress.ip_network(cidr)) == reason


def test_it_rejects_bad_never_contact_entries_loudly():
    with pytest.raises(ValueError):
        addresses.parse_networks(["not-a-network"])


REFERENCE_NON_GLOBAL = [
    ipaddress.ip_network(c)
    for c in [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
]


@given(st.ip_addresses())
def test_it_never_calls_a_reference_non_global_address_probeable(ip):
    if addresses.refusal_reason(ip) is None:
        inner = addresses.canonical_address(ip)
        exceptions = {"192.0.0.9", "192.0.0.10"}  # anycast, globally reachable per IANA
        assert str(inner) in exceptions or not any(
            inner in net for net in REFERENCE_NON_GLOBAL if net.version == inner.version
        )


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ("10.0.0.0/33,Private-Use,RFC 1918,False,False", "line 2"),
        ("10.0.0.0/8,Private-Use,RFC 1918,maybe,False", "'maybe'"),
        ("10.0.0.0/8,Private-Use,RFC 1918", "line 2"),
    ],
)
def test_a_malformed_registry_row_stops_loading_with_its_line_named(tmp_path, row, complaint):
    path = tmp_path / "special.csv"
    header = "Address Block,Name,RFC,Globally Reachable,Embeds IPv4"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=complaint):
        addresses.load_special_blocks(path)


def test_the_registry_file_loads_both_families_in_its_order():
    blocks = addresses.load_special_blocks()
    assert blocks[0].network == ipaddress.ip_network("0.0.0.0/8")
    assert blocks == addresses.IPV4_SPECIAL + addresses.IPV6_SPECIAL
    mapped = next(b for b in blocks if b.network == ipaddress.ip_network("::ffff:0:0/96"))
    assert mapped.embeds_ipv4 and not mapped.globally_reachable
