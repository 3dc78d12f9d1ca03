"""probes.rdap: extraction rules on recorded answers, and fetching through the lab.

The recorded answers are real (ipwhois test data, BSD, see
tests/fixtures/rdap/README.md); they are only served by the loopback
simulator, never fetched from the networks they describe.
"""

from __future__ import annotations

import copy

import pytest

from lab.asn_dns import AsnDnsServer, Origin
from lab.rdap import RdapSimulator, generated_answer, recorded_answers
from probes import rdap

ANSWERS = recorded_answers()
LAB = ["2001:db8::/32"]


def extract(ip: str) -> rdap.NetworkInfo:
    return rdap.network_extract(copy.deepcopy(ANSWERS[ip]), ip=ip)


def first(info: rdap.NetworkInfo) -> tuple[str, str]:
    return info.candidates[0].email, info.candidates[0].rule


# --- Extraction rules, one registry each ------------------------------------


def test_it_takes_ripes_top_level_abuse_entity():
    info = extract("62.239.237.1")
    assert first(info) == ("zzdnsr@bt.com", rdap.RULE_ABUSE_ROLE)
    assert info.candidates[0].confidence == rdap.CONFIDENCE[rdap.RULE_ABUSE_ROLE]
    assert (info.registry, info.country, info.cidr) == ("ripe", "GB", "62.239.237.0/24")
    assert info.abuse_emails[0] == "zzdnsr@bt.com"


def test_it_finds_arins_abuse_entity_one_level_down():
    info = extract("74.125.225.229")
    assert first(info) == ("arin-contact@google.com", rdap.RULE_ABUSE_ROLE)
    assert info.registry == "arin"
    # ARIN networks have no country: it comes from the registrant's address.
    assert info.country == "US"


def _abuse_poc(handle: str, email: str) -> dict:
    card = ["vcard", [["version", {}, "text", "4.0"], ["email", {}, "text", email]]]
    return {"handle": handle, "roles": ["abuse"], "vcardArray": card}


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_arins_network_poc_overrides_the_orgs_at_any_nesting_depth(depth):
    # The recorded Google answer, with the org's abuse POC moved `depth`
    # levels under the registrant and the network given its own POC after it.
    raw = copy.deepcopy(ANSWERS["74.125.225.229"])
    org = next(e for e in raw["entities"] if "registrant" in e["roles"])
    holder = org
    for level in range(depth - 1):
        holder["entities"] = [{"handle": f"MID{level}", "roles": ["noc"]}]
        holder = holder["entities"][0]
    holder["entities"] = [_abuse_poc("ORG-ABUSE-ARIN", "abuse@org-level.example")]
    raw["entities"].append(_abuse_poc("NET-ABUSE-ARIN", "abuse@net-level.example"))
    info = rdap.network_extract(raw, ip="74.125.225.229")
    assert info.abuse_emails == ["abuse@net-level.example", "abuse@org-level.example"]
    assert first(info) == ("abuse@net-level.example", rdap.RULE_ABUSE_ROLE)


def test_arins_org_poc_is_used_when_the_network_has_none():
    raw = copy.deepcopy(ANSWERS["74.125.225.229"])
    org = next(e for e in raw["entities"] if "registrant" in e["roles"])
    org["entities"] = [_abuse_poc("ORG-ABUSE-ARIN", "abuse@org-level.example")]
    info = rdap.network_extract(raw, ip="74.125.225.229")
    assert first(info) == ("abuse@org-level.example", rdap.RULE_ABUSE_ROLE)


def test_it_reads_the_leading_zeros_of_arin_ranges():
    assert extract("74.125.225.229").cidr == "74.125.0.0/16"


def test_it_takes_lacnics_abuse_role_and_normalises_the_case():
    info = extract("200.57.141.161")
    assert first(info) == ("operacion.redes@triara.com", rdap.RULE_ABUSE_ROLE)
    assert (info.registry, info.country) == ("lacnic", "MX")


def test_it_reads_afrinics_abuse_address_from_a_remark():
    info = extract("196.11.240.215")
    assert first(info) == ("abuse@mtnbusiness.co.za", rdap.RULE_REMARK)
    assert info.candidates[0].confidence == rdap.CONFIDENCE[rdap.RULE_REMARK]
    # The network's own role-less entities follow, as the weaker rule.
    assert ("ip-maint@mtnbusiness.co.za", rdap.RULE_REGISTRANT) in [
        (c.email, c.rule) for c in info.candidates
    ]


def test_it_falls_back_to_the_registrants_addresses_when_no_abuse_is_named():
    info = extract("2001:43f8:7b0::")
    assert first(info) == ("jpmuga@tespok.co.ke", rdap.RULE_REGISTRANT)
    assert info.candidates[0].confidence == rdap.CONFIDENCE[rdap.RULE_REGISTRANT]


def test_it_rejects_krnics_hostmaster_and_keeps_the_isps_abuse_address():
    info = extract("210.107.73.73")
    emails = [c.email for c in info.candidates]
    assert "hostmaster@nic.or.kr" not in emails
    assert first(info) == ("abuse@bora.net", rdap.RULE_REMARK)
    assert info.rejected == [("hostmaster@nic.or.kr", "registry placeholder address (nic.or.kr)")]


def test_it_rejects_jpnics_placeholder_and_is_left_with_no_candidate():
    info = extract("2001:240:10c:1::ca20:9d1d")
    assert info.candidates == []
    assert info.rejected[0][0] == "hostmaster@nic.ad.jp"


def test_it_accepts_a_configured_placeholder_domain():
    info = rdap.network_extract(
        copy.deepcopy(ANSWERS["62.239.237.1"]),
        ip="62.239.237.1",
        placeholder_domains=[*rdap.PLACEHOLDER_DOMAINS, "bt.com"],
    )
    assert info.candidates == []


def test_it_keeps_the_vcard_postal_address_for_printed_letters():
    assert extract("62.239.237.1").postal_address == (
        "British Telecommunications\n81 Newgate Street\nLondon GB"
    )
    # APNIC writes its line breaks as a literal backslash-n.
    assert extract("210.107.73.73").postal_address.splitlines() == [
        "DACOM Bldg., 706-1, Yoeksam-dong, Kangnam-ku",
        "Seoul",
    ]


def test_it_keeps_only_the_cidr_holding_the_address_of_a_range_that_is_not_one():
    # 196.11.239.0 - 196.11.246.255 is /24 + /22 + /23 + /24.
    assert extract("196.11.240.215").cidr == "196.11.240.0/22"


def test_it_prefers_cidr0_when_the_answer_has_it():
    raw = copy.deepcopy(ANSWERS["62.239.237.1"])
    raw["cidr0_cidrs"] = [{"v4prefix": "62.239.236.0", "length": 23}]
    assert rdap.network_extract(raw, ip="62.239.237.1").cidr == "62.239.236.0/23"


def test_it_refuses_an_answer_whose_range_misses_the_address():
    with pytest.raises(rdap.RdapBadAnswer, match="does not hold"):
        rdap.network_extract(copy.deepcopy(ANSWERS["62.239.237.1"]), ip="62.239.238.1")


def test_it_refuses_an_answer_without_a_range():
    with pytest.raises(rdap.RdapBadAnswer, match="no usable address range"):
        rdap.network_extract({"handle": "X", "entities": []}, ip="62.239.237.1")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abuse@isp.example\r\nBcc: victim@isp.example", "control character"),
        ("abuse@@isp.example", "exactly one @"),
        ("abuse@isp@example", "exactly one @"),
        ("abuse@", "no domain"),
        ("abuse-isp.example", "exactly one @"),
        ("hostmaster@apnic.net", "registry placeholder"),
    ],
)
def test_it_refuses_bad_addresses_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        rdap.email_check(raw)


def test_it_drops_bad_addresses_from_an_answer_and_says_why():
    raw = copy.deepcopy(ANSWERS["200.57.141.161"])
    card = raw["entities"][0]["vcardArray"][1]
    card.insert(1, ["email", {}, "text", "abuse@triara.com\nBcc: x@victim.example"])
    info = rdap.network_extract(raw, ip="200.57.141.161")
    assert [c.email for c in info.candidates] == ["operacion.redes@triara.com"]
    assert "control character" in info.rejected[0][1]


def test_it_keeps_hostile_names_as_bounded_plain_data():
    raw = copy.deepcopy(ANSWERS["62.239.237.1"])
    raw["name"] = "<script>alert(1)</script>\x00\x1b[31m" + "A" * 1000
    raw["country"] = "<b>"
    info = rdap.network_extract(raw, ip="62.239.237.1")
    assert info.name.startswith("<script>alert(1)</script>[31m")
    assert len(info.name) == 255
    assert info.country == ""


def test_it_survives_answers_of_the_wrong_shape():
    raw = {
        "startAddress": "198.51.100.0",
        "endAddress": "198.51.100.255",
        "entities": [None, "x", {"roles": "abuse", "vcardArray": ["vcard", "nope"]}],
        "remarks": [{"description": "abuse@isp.example"}, None],
    }
    info = rdap.network_extract(raw, ip="198.51.100.7")
    assert (info.cidr, info.candidates) == ("198.51.100.0/24", [])


@pytest.mark.parametrize(
    ("ptr", "expected"),
    [
        ("mail.isp.example", "abuse@isp.example"),
        ("relay.isp.example.", "abuse@isp.example"),
        ("smtp.shop.co.uk", "abuse@shop.co.uk"),
        ("localhost", ""),
        ("", ""),
        ("bad_label.<x>.example", ""),
    ],
)
def test_it_derives_abuse_at_the_registered_domain_of_a_ptr_name(ptr, expected):
    assert rdap.ptr_abuse_address(ptr) == expected


# --- Fetching through the simulator -----------------------------------------


@pytest.fixture
def sim():
    with RdapSimulator(answers=ANSWERS) as simulator:
        yield simulator


def test_it_rewrites_every_url_to_the_base_and_keeps_the_path(sim):
    buckets = []
    raw = rdap.rdap_fetch("74.125.225.229", base_url=sim.base_url, before_send=buckets.append)
    assert raw["handle"] == "NET-74-125-0-0-1"
    # The shipped bootstrap files name ARIN: no bootstrap request at all.
    assert sim.paths == ["/registry/ip/74.125.225.229"]
    assert buckets == ["arin"]


def test_it_asks_each_registry_chosen_by_the_local_bootstrap_files(sim):
    for ip, path in [
        ("62.239.237.1", "/ip/62.239.237.1"),
        ("200.57.141.161", "/rdap/ip/200.57.141.161"),
        ("210.107.73.73", "/ip/210.107.73.73"),
        ("196.11.240.215", "/rdap/ip/196.11.240.215"),
    ]:
        sim.paths.clear()
        rdap.rdap_fetch(ip, base_url=sim.base_url)
        assert sim.paths == [path]


def test_it_bills_entity_fetches_to_the_registrys_personal_data_bucket():
    assert rdap.bucket_of("rdap.db.ripe.net", "/entity/BTCR3-RIPE") == "ripe-entity"
    assert rdap.bucket_of("rdap.db.ripe.net", "/ip/62.239.237.1") == "ripe"


def test_it_follows_the_bootstrap_redirect_for_an_address_the_files_do_not_place(monkeypatch):
    monkeypatch.setattr(rdap.bootstrap, "registry_for", lambda ip: "")
    buckets = []
    with RdapSimulator(answers=ANSWERS, redirect=True) as sim:
        raw = rdap.rdap_fetch("62.239.237.1", base_url=sim.base_url, before_send=buckets.append)
    assert raw["handle"] == "62.239.237.0 - 62.239.237.255"
    assert sim.paths == ["/bootstrap/ip/62.239.237.1", "/ip/62.239.237.1"]
    assert buckets == ["bootstrap", "ripe"]


def test_it_sends_nothing_when_the_bucket_refuses(sim):
    def refuse(bucket):
        raise rdap.RdapRateLimited("local limit", wait=3.0, registry=bucket)

    with pytest.raises(rdap.RdapRateLimited) as caught:
        rdap.rdap_fetch("74.125.225.229", base_url=sim.base_url, before_send=refuse)
    assert caught.value.wait == 3.0
    assert sim.requests == 0


FAULTS = {
    "198.51.100.1": "html",
    "198.51.100.2": "loop",
    "198.51.100.3": "huge",
    "198.51.100.4": "notice",
    "198.51.100.5": "429",
    "198.51.100.6": "500",
    "198.51.100.7": "array",
}


@pytest.mark.parametrize(
    ("ip", "error", "reason"),
    [
        ("198.51.100.1", rdap.RdapBadAnswer, "not a JSON object"),
        ("198.51.100.2", rdap.RdapBadAnswer, "redirected in a loop"),
        ("198.51.100.3", rdap.RdapBadAnswer, "larger than 2000000 bytes"),
        ("198.51.100.4", rdap.RdapRateLimited, "rate-limited"),
        ("198.51.100.5", rdap.RdapRateLimited, "rate-limited"),
        ("198.51.100.6", rdap.RdapUnavailable, "HTTP 500"),
        ("198.51.100.7", rdap.RdapBadAnswer, "not a JSON object"),
        ("198.51.100.8", rdap.RdapBadAnswer, "HTTP 404"),
    ],
)
def test_it_reports_broken_answers_with_a_reason(ip, error, reason):
    with RdapSimulator(faults=FAULTS) as sim, pytest.raises(error, match=reason) as caught:
        rdap.rdap_fetch(ip, base_url=sim.base_url, allowed=["198.51.100.0/24"])
    assert caught.value.retry is (error is not rdap.RdapBadAnswer)


def test_it_reads_retry_after_from_a_429():
    with (
        RdapSimulator(answers=ANSWERS, fail_every=1) as sim,
        pytest.raises(rdap.RdapRateLimited) as caught,
    ):
        rdap.rdap_fetch("62.239.237.1", base_url=sim.base_url)
    assert caught.value.wait == 1.0


def test_it_calls_an_unreachable_registry_unavailable():
    with RdapSimulator() as sim:
        base = sim.base_url  # closed on exit: nothing listens there any more
    with pytest.raises(rdap.RdapUnavailable, match="could not be reached"):
        rdap.rdap_fetch("62.239.237.1", base_url=base, timeout=2)


@pytest.mark.parametrize("ip", ["10.0.0.1", "100.64.1.1", "127.0.0.1", "fe80::1", "2001:db8::1"])
def test_it_refuses_special_purpose_addresses_unless_the_lab_allows_them(sim, ip):
    with pytest.raises(rdap.RdapBadAnswer, match="special-purpose"):
        rdap.rdap_fetch(ip, base_url=sim.base_url, allowed=["198.51.100.0/24"])
    assert sim.requests == 0


def test_it_looks_up_a_documentation_address_the_lab_allows():
    with RdapSimulator(generate=generated_answer) as sim:
        raw = rdap.rdap_fetch("2001:db8:5::1", base_url=sim.base_url, allowed=["2001:db8::/32"])
    assert rdap.network_extract(raw, ip="2001:db8:5::1").cidr == "2001:db8:5::/48"


def test_it_only_follows_redirects_to_the_registries():
    # Without RDAP_BASE_URL nothing is rewritten: a request for any other
    # host is refused before it leaves. (A loopback host, so that even a
    # broken refusal could not reach past this machine.)
    opener, handler = rdap.opener_build(base_url="", max_bytes=1000)
    with pytest.raises(rdap.RdapBadAnswer, match=r"redirected to '127\.0\.0\.2'"):
        opener.open("http://127.0.0.2:9/ip/192.0.2.1", timeout=1)
    assert "127.0.0.2" in handler.failure.reason


def test_it_reads_the_origin_as_of_ipv6_and_lab_addresses_from_the_asn_dns():
    origin = Origin(64501, "2001:db8:5::/48", "FR", "ripencc", "LAB6")
    with AsnDnsServer(lambda ip: origin if ip.startswith("2001:db8:5:") else None) as server:
        found = rdap.asn_lookup("2001:db8:5:1::", nameserver=server.address, allowed=LAB)
        missing = rdap.asn_lookup("2001:db8:6::1", nameserver=server.address, allowed=LAB)
        refused = rdap.asn_lookup("10.0.0.1", nameserver=server.address)
    assert (found, missing, refused) == ((64501, "LAB6"), (None, ""), (None, ""))
    assert len(server.queries) == 3  # origin + name, origin; none for 10.0.0.1
