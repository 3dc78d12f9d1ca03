"""The pure feed parsers: one test per format, bad input, and property tests."""

from __future__ import annotations

import gzip
import io
import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes import addresses, feeds
from probes.feeds import Entry, FeedError, Policy, Rejected, Tally

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


def parse(data: bytes, **options):
    parsed = feeds.open_feed(io.BytesIO(data), **options)
    return parsed.format, list(parsed.records)


def parse_fixture(name: str, **options):
    return parse((FIXTURES / name).read_bytes(), **options)


def entries(records):
    return [r for r in records if isinstance(r, Entry)]


def rejected(records):
    return [r.reason for r in records if isinstance(r, Rejected)]


def values(records):
    return [str(r.address or r.network) for r in entries(records)]


def test_it_reads_a_firehol_ipset_as_plain():
    fmt, records = parse_fixture("blocklist_de_mail.ipset")
    assert fmt == "plain"
    assert values(records)[:2] == ["1.10.240.209", "1.160.114.179"]
    assert len(entries(records)) == 12  # 10 listed, one again, and 10.0.0.1 (screened later)
    assert rejected(records) == ["unparsable"]
    assert entries(records)[0].line == 20


def test_it_reads_a_firehol_netset_as_cidr():
    fmt, records = parse_fixture("level1.netset")
    assert fmt == "cidr"
    assert values(records)[0] == "1.4.0.0/17"
    assert "10.0.0.0/8" in values(records)


def test_it_reads_spamhaus_drop_text_with_sbl_ids():
    fmt, records = parse_fixture("spamhaus_drop.txt")
    assert fmt == "spamhaus"
    assert [(str(e.network), e.reason) for e in entries(records)] == [
        ("1.4.0.0/17", "SBL256893"),
        ("2a06:e480::/29", "SBL301771"),
    ]


def test_it_reads_spamhaus_drop_json_lines_and_skips_the_metadata():
    fmt, records = parse_fixture("spamhaus_drop.json")
    assert fmt == "spamhaus"
    first = entries(records)[0]
    assert (str(first.network), first.reason, first.evidence) == (
        "1.10.16.0/20",
        "SBL256894",
        {"rir": "apnic"},
    )
    assert len(entries(records)) == 3
    assert rejected(records) == ["unparsable"]  # the JSON array


def test_it_reads_dshield_block_with_its_evidence():
    fmt, records = parse_fixture("dshield_block.txt")
    assert fmt == "dshield"
    first, second = entries(records)
    assert str(first.network) == "43.229.53.0/24"
    assert first.evidence == {
        "attacks": 788,
        "name": "Japan Inet",
        "country": "JP",
        "email": "admin@v6nic.net",
    }
    assert str(second.network) == "194.63.140.0/24"
    assert second.evidence == {"attacks": 585}


def test_it_reads_dataplane_with_asn_and_category():
    fmt, records = parse_fixture("dataplane_smtpgreet.txt")
    assert fmt == "dataplane"
    (entry,) = entries(records)
    assert str(entry.address) == "185.142.236.34"
    assert entry.reason == "smtpgreet"
    assert entry.evidence == {
        "asn": 174,
        "as_name": "COGENT-174",
        "lastseen": "2021-09-02 16:08:38",
    }
    assert rejected(records) == ["unparsable"]


def test_it_reads_rbldnsd_defaults_prefixes_ranges_and_exclusions():
    fmt, records = parse_fixture("zone.ip4set")
    assert fmt == "rbldnsd"
    got = {str(e.address or e.network): (e.evidence["a"], e.reason) for e in entries(records)}
    assert got["192.0.2.10"] == (
        "127.0.0.2",
        "Open relay, see https://rbl.example/lookup?ip=192.0.2.10",
    )
    assert "198.51.100.0/28" in got
    assert "203.0.113.0/24" in got  # the partial prefix 203.0.113
    assert {"192.0.2.20/30", "192.0.2.24"} <= set(got)  # the range 192.0.2.20-24
    assert got["192.0.2.24"] == ("127.0.0.5", "Range listed")
    assert got["192.0.2.30"] == ("127.0.0.3", "Custom 192.0.2.30")
    assert rejected(records) == ["rbldnsd_exclusion", "unparsable"]


def test_it_reads_shadowserver_scan_smtp_keeping_the_evidence():
    fmt, records = parse_fixture("shadowserver_scan_smtp.csv")
    assert fmt == "csv"
    first, second = entries(records)
    assert str(first.address) == "192.0.2.25"
    assert first.evidence["port"] == "25"
    assert first.evidence["hostname"] == "mail.isp.example"
    assert first.evidence["asn"] == "64500"
    assert first.evidence["geo"] == "US"
    assert first.evidence["banner"] == "220 mail.isp.example ESMTP Postfix"
    assert second.evidence["banner"] == '220 smtp.fai.example ESMTP "quoted", ready'
    assert rejected(records) == ["unparsable"]


def test_it_reads_a_headerless_csv_by_column_number():
    fmt, records = parse_fixture("generic_sample_report.csv", ip_column="7")
    assert fmt == "csv"
    assert values(records) == ["198.105.221.5", "198.105.221.161"]


def test_it_names_the_missing_csv_column_and_its_line():
    with pytest.raises(FeedError, match=r"line 1: .*no column 'source_ip'.*columns: timestamp"):
        parse_fixture("shadowserver_scan_smtp.csv", ip_column="source_ip")


def test_it_names_an_unreadable_csv_header():
    # Found by hypothesis: a bare CR in the header made csv.Error escape.
    with pytest.raises(FeedError, match=r"line 1: unreadable CSV header"):
        parse(b"ip,\x01\r\x01\n192.0.2.1,x\n", fmt="csv")


def test_it_rejects_deeply_nested_json_instead_of_crashing():
    _fmt, records = parse(b'{"cidr":' + b"[" * 4000 + b"\n1.4.0.0/17 ; SBL1\n", fmt="spamhaus")
    assert rejected(records) == ["unparsable"]
    assert values(records) == ["1.4.0.0/17"]


def test_it_keeps_a_row_whose_asn_is_a_unicode_digit_but_not_the_asn():
    # "²" is isdigit() but int() refuses it: it must not escape as ValueError.
    _fmt, records = parse("²  |  X  |  8.8.4.4  |  2021  |  smtp\n".encode(), fmt="dataplane")
    assert entries(records)[0].evidence == {"as_name": "X", "lastseen": "2021"}


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"# list\n192.0.2.1\n", "plain"),
        (b"192.0.2.1 # reported twice, by a, b\n", "plain"),
        (b"::1\n2001:db8::1\n", "plain"),
        (b"192.0.2.0/24\n192.0.2.1\n", "cidr"),
        (b"; Spamhaus\n192.0.2.0/24 ; SBL1\n", "spamhaus"),
        (b'{"cidr":"192.0.2.0/24","sblid":"SBL1","rir":"arin"}\n', "spamhaus"),
        (b"Start\tEnd\tNetblock\tAttacks\n", "dshield"),
        (b"64500  |  AS  |  192.0.2.1  |  2021-01-01 00:00:00  |  smtp\n", "dataplane"),
        (b":127.0.0.2:Listed\n192.0.2.1\n", "rbldnsd"),
        (b"192.0.2.1-9\n", "rbldnsd"),
        (b"timestamp,ip,port\n", "csv"),
        (b"2026-01-01\tx\t192.0.2.1\n", "csv"),
    ],
)
def test_it_detects_each_format(head, fmt):
    assert feeds.detect_format(head) == fmt


def test_it_obeys_a_forced_format():
    fmt, records = parse(b"192.0.2.1 ; SBL1\n", fmt="plain")
    assert fmt == "plain"
    assert values(records) == ["192.0.2.1"]


def test_it_refuses_an_unknown_format():
    with pytest.raises(FeedError, match="unknown format"):
        parse(b"192.0.2.1\n", fmt="xml")


def test_it_reads_gzip_transparently():
    data = gzip.compress((FIXTURES / "spamhaus_drop.txt").read_bytes())
    fmt, records = parse(data)
    assert fmt == "spamhaus"
    assert len(entries(records)) == 2


def test_it_names_a_truncated_gzip():
    data = gzip.compress(b"".join(b"192.0.2.%d\n" % (i % 250) for i in range(200_000)))
    with pytest.raises(FeedError, match="truncated or corrupt gzip"):
        parse(data[: len(data) // 2])


def test_it_names_binary_data_and_its_line():
    with pytest.raises(FeedError, match=r"line 3: binary data"):
        parse(b"192.0.2.1\n192.0.2.2\n\x00\x01\x02\n")


def test_it_names_binary_data_far_into_the_file():
    data = b"192.0.2.1\n" * 20_000 + b"\x7fELF\x00\x00\n"
    with pytest.raises(FeedError, match=r"line 20001: binary data"):
        parse(data)


def test_it_names_an_html_page_served_instead_of_a_list():
    page = b"\n<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>\n"
    with pytest.raises(FeedError, match=r"line 2: an HTML page"):
        parse(page)


def test_it_stops_at_the_size_cap_and_says_where():
    data = b"192.0.2.1\n" * 300_000
    with pytest.raises(FeedError, match=r"larger than the 1,000,000 byte limit"):
        parse(data, max_bytes=1_000_000)


def test_it_rejects_overlong_lines_without_holding_them():
    data = b"192.0.2.1\n" + b"9" * (feeds.CHUNK * 3) + b"\n192.0.2.2\n" + b"x" * 5000
    _fmt, records = parse(data, fmt="plain")
    assert values(records) == ["192.0.2.1", "192.0.2.2"]
    assert [(r.line, r.reason) for r in records if isinstance(r, Rejected)] == [
        (2, "line_too_long"),
        (4, "line_too_long"),
    ]


def test_it_counts_every_line_read():
    parsed = feeds.open_feed(io.BytesIO(b"# header\n\n192.0.2.1\n192.0.2.2"))
    list(parsed.records)
    assert parsed.lines == 4


# --- screening -------------------------------------------------------------------


def screen(data: bytes, policy: Policy | None = None, **options):
    tally = Tally()
    parsed = feeds.open_feed(io.BytesIO(data), **options)
    rows = list(feeds.screen(parsed.records, policy or Policy(), tally))
    return rows, tally


def test_it_refuses_non_global_counts_duplicates_and_keeps_one_of_each():
    data = b"8.8.4.4\n10.0.0.1\n8.8.4.4\n::ffff:8.8.4.4\n224.0.0.5\n2001:db8::1\n2a00:1450::1\n"
    rows, tally = screen(data)
    assert [key for _kind, key, _entry in rows] == ["8.8.4.4", "2a00:1450::1"]
    assert tally.accepted == 4
    assert tally.duplicates == 2
    assert tally.rejected == {"non_global": 3}


def test_it_keeps_networks_and_refuses_the_too_large_and_the_bogons():
    data = (FIXTURES / "level1.netset").read_bytes()
    rows, tally = screen(data)
    assert all(kind == feeds.NETWORK for kind, _key, _entry in rows)
    assert tally.networks == 8
    assert tally.rejected == {"network_too_large": 1, "non_global": 3}


def test_it_expands_small_networks_of_a_host_list_only():
    data = b"8.8.4.0/30\n8.8.8.0/23\n8.8.4.1\n"
    policy = Policy(expand_networks=True, expand_max_addresses=256)
    rows, tally = screen(data, policy)
    hosts = [key for kind, key, _entry in rows if kind == feeds.HOST]
    assert hosts == ["8.8.4.0", "8.8.4.1", "8.8.4.2", "8.8.4.3"]
    assert (tally.networks, tally.expanded_networks, tally.expanded_hosts) == (2, 1, 4)
    rows, tally = screen(data, Policy())
    assert [key for kind, key, _ in rows if kind == feeds.HOST] == ["8.8.4.1"]


def test_it_stops_expanding_at_the_total_cap_but_keeps_the_networks():
    data = b"8.8.4.0/30\n8.8.5.0/30\n8.8.6.0/30\n"
    policy = Policy(expand_networks=True, expand_max_addresses=256, expand_max_total=8)
    rows, tally = screen(data, policy)
    assert len([kind for kind, _key, _ in rows if kind == feeds.HOST]) == 8
    assert (tally.networks, tally.expanded_networks, tally.expansions_skipped) == (3, 2, 1)


def test_it_refuses_the_never_contact_list():
    policy = Policy(never_contact=addresses.parse_networks(["8.8.4.0/24"]))
    rows, tally = screen(b"8.8.4.4\n8.8.4.0/28\n8.8.8.8\n", policy)
    assert [key for _kind, key, _entry in rows] == ["8.8.8.8"]
    assert tally.rejected == {"never_contact": 2}


# --- properties --------------------------------------------------------------------


# Bytes that look like the formats, so the parsers' inner paths are reached.
feedish = st.lists(
    st.text(alphabet='0123456789abcdef.:/|\t,;!$-{}"[]#: \r<>cidrsblSBL²', max_size=60),
    max_size=30,
).map(lambda lines: "\n".join(lines).encode())


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=3000), feedish), st.sampled_from(["auto", *feeds.FORMATS]))
def test_it_never_lets_anything_but_feed_error_escape_on_arbitrary_bytes(data, fmt):
    try:
        parsed = feeds.open_feed(io.BytesIO(data), fmt=fmt, ip_column="ip")
        rows = list(feeds.screen(parsed.records, Policy(), Tally()))
    except FeedError:
        return
    for _kind, key, _entry in rows:
        assert addresses.refusal_reason(key.split("/")[0]) is None


line_text = st.one_of(
    st.ip_addresses().map(str),
    st.builds(lambda ip, n: f"{ip}/{n}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda ip, n: f"{ip}/{n}", st.ip_addresses(v=6), st.integers(0, 128)),
    st.text(alphabet="0123456789abcdef.:/# ;", max_size=40),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(line_text, max_size=40), st.sampled_from(["plain", "cidr", "rbldnsd"]))
def test_it_accepts_only_global_addresses_and_networks(lines, fmt):
    data = "\n".join(["# generated", *lines]).encode()
    rows, _tally = screen(data, fmt=fmt)
    for kind, key, _entry in rows:
        if kind == feeds.HOST:
            assert addresses.is_global(ipaddress.ip_address(key))
        else:
            network = ipaddress.ip_network(key)
            assert addresses.is_global(network.network_address)
            assert addresses.is_global(network.broadcast_address)
