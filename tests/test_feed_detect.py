"""Format detection by content: real published versions of each layout, counted
independently, and properties over header spellings, delimiters and comments."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes import feed_detect, feeds
from probes.feeds import Entry, FeedError

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
VERSIONS = FEEDS / "versions"


def parsed_values(data: bytes, **options) -> tuple[str, set[str], str]:
    parsed = feeds.open_feed(io.BytesIO(data), **options)
    got = {str(r.address or r.network) for r in parsed.records if isinstance(r, Entry)}
    return parsed.format, got, parsed.detected_by


# --- independent counts: each layout read the simplest way, with ipaddress only ---


def data_lines(text: str, comments: str = "#") -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip()[0] not in comments]


def canonical(token: str) -> str:
    network = ipaddress.ip_network(token.strip(), strict=False)
    return str(network.network_address if network.num_addresses == 1 else network)


def count_plain(text: str) -> set[str]:
    return {canonical(ln.split()[0]) for ln in data_lines(text, "#;")}


def count_dshield(text: str) -> set[str]:
    out = set()
    for line in data_lines(text):
        start, end = line.split()[:2]
        if start[0].isdigit():
            first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
            out |= {canonical(str(n)) for n in ipaddress.summarize_address_range(first, last)}
    return out


def count_spamhaus_text(text: str) -> set[str]:
    return {canonical(ln.split(";")[0]) for ln in data_lines(text, "#;")}


def count_spamhaus_json(text: str) -> set[str]:
    rows = [json.loads(ln) for ln in data_lines(text)]
    return {canonical(row["cidr"]) for row in rows if "cidr" in row}


def count_csv_column(column: int):
    def count(text: str) -> set[str]:
        out = set()
        for row in csv.reader(data_lines(text)):
            try:
                out.add(canonical(row[column]))
            except ValueError:
                continue  # the header
        return out

    return count


def count_ranges(text: str) -> set[str]:
    out = set()
    for line in data_lines(text):
        line = line.split("#")[0].strip()
        if "-" in line:
            first, last = (ipaddress.ip_address(p.strip()) for p in line.split("-"))
            out |= {canonical(str(n)) for n in ipaddress.summarize_address_range(first, last)}
        else:
            out.add(canonical(line))
    return out


REAL_VERSIONS = [
    (FEEDS / "dshield_block.txt", "dshield", count_dshield),
    (VERSIONS / "dshield_block_2018_netmask.txt", "dshield", count_dshield),
    (VERSIONS / "dshield_block_2018_spaces.txt", "dshield", count_dshield),
    (VERSIONS / "abusech_feodo_2019.csv", "csv", count_csv_column(1)),
    (VERSIONS / "abusech_feodo_2021.csv", "csv", count_csv_column(1)),
    (FEEDS / "spamhaus_drop.txt", "spamhaus", count_spamhaus_text),
    (VERSIONS / "spamhaus_drop_2015.txt", "spamhaus", count_spamhaus_text),
    (VERSIONS / "spamhaus_drop_v4_2026.json", "spamhaus", count_spamhaus_json),
    (VERSIONS / "spamhaus_drop_v6_2026.json", "spamhaus", count_spamhaus_json),
    (VERSIONS / "firehol_sorbs_smtp_2015.netset", "plain", count_plain),
    (VERSIONS / "firehol_spamhaus_drop_2015_head.netset", "cidr", count_plain),
    (VERSIONS / "ranges_both_spellings.txt", "range", count_ranges),
]


@pytest.mark.parametrize(
    ("path", "fmt", "count"), REAL_VERSIONS, ids=[p.name for p, _f, _c in REAL_VERSIONS]
)
def test_it_detects_each_published_version_exactly(path, fmt, count):
    data = path.read_bytes()
    expected = count(data.decode())
    detected, got, detected_by = parsed_values(data)
    assert detected == fmt
    assert expected
    assert got == expected
    assert detected_by


def test_it_reads_the_blocklist_de_ipset_whatever_its_one_junk_line():
    data = (FEEDS / "blocklist_de_mail.ipset").read_bytes()
    fmt, got, _ = parsed_values(data)
    valid = set()
    for line in data_lines(data.decode(), "#;"):
        try:
            valid.add(canonical(line.split()[0]))
        except ValueError:
            continue
    assert (fmt, got) == ("plain", valid)


def test_it_finds_the_abuse_ch_address_column_by_its_values():
    data = (VERSIONS / "abusech_feodo_2021.csv").read_bytes()
    detection = feed_detect.detect(data)
    assert detection.csv.column_name == "dst_ip"
    assert "'dst_ip' (number 2)" in detection.detected_by


def test_it_asks_which_column_when_two_hold_addresses():
    data = b"src_ip,dst_ip,port\n8.8.4.4,9.9.9.9,25\n8.8.8.8,1.1.1.1,25\n"
    named = r"'src_ip' \(number 1\), 'dst_ip' \(number 2\).*--ip-column"
    with pytest.raises(FeedError, match=named):
        feeds.open_feed(io.BytesIO(data))
    _fmt, got, _ = parsed_values(data, ip_column="dst_ip")
    assert got == {"9.9.9.9", "1.1.1.1"}


def test_it_prefers_the_column_named_ip_when_another_holds_addresses_too():
    data = b"ip,gateway,port\n8.8.4.4,9.9.9.9,25\n8.8.8.8,1.1.1.1,25\n"
    _fmt, got, by = parsed_values(data)
    assert got == {"8.8.4.4", "8.8.8.8"}
    assert "'ip'" in by


def test_it_names_the_formats_tried_and_quotes_lines_that_fit_none():
    data = b"hello world\nthis is not a list\n8.8.8.8\nstill not\n"
    with pytest.raises(FeedError) as caught:
        feeds.open_feed(io.BytesIO(data))
    message = str(caught.value)
    assert "tried spamhaus" in message and "dshield" in message and "csv" in message
    assert "'hello world'" in message


def test_it_says_a_forced_format_was_forced():
    _fmt, _got, by = parsed_values(b"8.8.8.8\n", fmt="plain")
    assert by == "forced with --format plain"


# --- properties: spellings, delimiters and comments never change the set ----------

addresses_v4 = st.lists(
    st.ip_addresses(v=4).filter(lambda a: a.is_global), min_size=1, max_size=30, unique=True
)
identifier = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def plain_feed(draw):
    ips = draw(addresses_v4)
    comment = draw(st.sampled_from(["#", ";"]))
    trailing = draw(st.booleans())
    lines = [f"{comment} {draw(identifier)}"]
    for ip in ips:
        lines.append(f"{ip}  {comment} {draw(identifier)}" if trailing else str(ip))
    return "\n".join(lines), {str(ip) for ip in ips}


@st.composite
def dshield_feed(draw):
    nets = {ipaddress.ip_network(f"{ip}/24", strict=False) for ip in draw(addresses_v4)}
    sep = draw(st.sampled_from(["\t", "  ", " "]))
    words = [draw(st.sampled_from(w)) for w in DSHIELD_HEADER_WORDS]
    header = draw(st.sampled_from(["", sep.join(words), sep.join(w.upper() for w in words)]))
    lines = [f"# {draw(identifier)}", header] if header else [f"# {draw(identifier)}"]
    for net in sorted(nets):
        row = [str(net.network_address), str(net.broadcast_address), "24", "12", "NET", "ZZ"]
        lines.append(sep.join(row))
    return "\n".join(lines), {str(n) for n in nets}


DSHIELD_HEADER_WORDS = [
    ["Start", "start", "from"],
    ["End", "end", "to"],
    ["Netblock", "Netmask", "subnet", "prefix"],
    ["Attacks", "nattacks", "count"],
    ["Name", "netname"],
    ["Country", "cc"],
]


@st.composite
def csv_feed(draw):
    ips = draw(addresses_v4)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(2, 6))
    column = draw(st.integers(0, width - 1))
    names = [draw(identifier) for _ in range(width)]
    if draw(st.booleans()):
        names[column] = draw(st.sampled_from(["ip", "dst_ip", "IP Address", "host_addr"]))
    quote = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    out = io.StringIO()
    out.write(f"# {draw(identifier)}\n")
    writer = csv.writer(out, delimiter=delimiter, quoting=quote, lineterminator="\n")
    if draw(st.booleans()):
        writer.writerow(names)
    for ip in ips:
        row = [draw(identifier) for _ in range(width)]
        row[column] = str(ip)
        writer.writerow(row)
    return out.getvalue(), {str(ip) for ip in ips}


@settings(max_examples=200, deadline=None)
@given(st.one_of(plain_feed(), dshield_feed(), csv_feed()))
def test_it_accepts_the_same_set_whatever_the_spelling(feed):
    text, expected = feed
    _fmt, got, _by = parsed_values(text.encode())
    assert got == expected


def test_a_hex_looking_word_is_not_an_address():
    # Found by the property test above: "a" is all hex digits, so the pipe
    # row "1.0.0.0|_|a" passed for a dataplane row with its address in the
    # third cell, and the real address in the first was lost.
    text = b"# _\n1.0.0.0|_|a\n"
    assert feed_detect.detect(text).format == "csv"
    assert parsed_values(text)[1] == {"1.0.0.0"}
    assert not feed_detect.fits_dataplane("64500|AS-EXAMPLE|cafe|2026-01-01|smtp")
    assert feed_detect.fits_dataplane("64500 | AS-EXAMPLE | 192.0.2.7 | 2026-01-01 | smtp")
    assert feed_detect.fits_dataplane("64500 | AS-EXAMPLE | 2001:db8::7 | 2026-01-01 | smtp")


def test_the_rule_that_decided_speaks_the_readers_language():
    from django.utils import translation

    text = b"198.51.100.7\n198.51.100.8\n"
    assert (
        feed_detect.detect(text).detected_by
        == "2 of 2 sampled lines are one address or CIDR a line"
    )
    with translation.override("es"):
        by = feed_detect.detect(text).detected_by
    assert by == "2 de 2 líneas de muestra son una dirección o CIDR por línea"
