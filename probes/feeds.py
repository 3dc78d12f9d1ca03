"""Blocklist parsers: bytes in, records out. Pure: no ORM, no network.

``open_feed(stream, fmt=..., ip_column=...)`` detects the format (or takes
the one forced), and returns a :class:`ParsedFeed` whose ``records`` yields,
line by line, either :class:`Entry` (an address or a network, with the
feed's own reason and evidence) or :class:`Rejected` (a line we could not
use, with the reason). Problems that make the whole file unusable (binary
data, an HTML page served in place of a list, a truncated gzip, a file over
the size cap, a CSV without the named column) raise :class:`FeedError`,
which names the problem and the line.

Every read is bounded: lines over ``MAX_LINE`` bytes are rejected without
being held in memory, and the whole stream is capped at ``max_bytes``.
Formats are described in the README ("Feed import").
"""

from __future__ import annotations

import csv
import gzip
import ipaddress
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from socket import AF_INET, inet_pton
from typing import BinaryIO

from django.utils.translation import gettext

from outreach.lib.iputil import IPAddress, IPNetwork
from probes import addresses, feed_detect

MAX_LINE = 4096
CHUNK = 1 << 20
DETECT_BYTES = 64 * 1024
FORMATS = ("plain", "cidr", "spamhaus", "dshield", "dataplane", "rbldnsd", "range", "csv")
# Evidence values are strangers' text: keep them short.
MAX_EVIDENCE_VALUE = 1000

# Rejection reasons counted in the import summary.
UNPARSABLE = "unparsable"
TOO_LONG = "line_too_long"
EXCLUDED = "rbldnsd_exclusion"


class FeedError(ValueError):
    """The file as a whole cannot be imported; the message names the line."""

    def __init__(self, message: str, line: int = 0) -> None:
        self.line = line
        where = gettext("line %(line)d: %(message)s")
        super().__init__(where % {"line": line, "message": message} if line else message)


@dataclass(slots=True)
class Entry:
    line: int
    address: IPAddress | None = None
    network: IPNetwork | None = None
    reason: str = ""
    evidence: dict | None = None
    # The address as the feed spelled it, when that spelling is canonical
    # (a dotted quad that inet_pton accepted): saves formatting it again.
    text: str = ""


@dataclass(slots=True)
class Rejected:
    line: int
    reason: str
    text: str = ""


Record = Entry | Rejected


@dataclass
class ParsedFeed:
    format: str
    records: Iterator[Record]
    counter: _Counter
    # The rule that decided the format, in words ("forced with --format" when given).
    detected_by: str = ""

    @property
    def lines(self) -> int:
        """Lines read so far (all of them once ``records`` is exhausted)."""
        return self.counter.line


# --- Reading bytes safely ---------------------------------------------------


class _Counter:
    """Counts the lines handed out, so errors can name the line."""

    def __init__(self) -> None:
        self.line = 0


def _open_stream(stream: BinaryIO) -> tuple[BinaryIO, bytes]:
    """Undo gzip if the magic bytes say so; return the stream and its first bytes."""
    head = _read_or_fail(stream, DETECT_BYTES, 0)
    if head[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=_Replay(head, stream), mode="rb")  # type: ignore[assignment]
        head = _read_or_fail(stream, DETECT_BYTES, 0)
    return stream, head


def _read_or_fail(stream: BinaryIO, size: int, line: int) -> bytes:
    try:
        return stream.read(size)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        text = gettext("truncated or corrupt gzip data (%(error)s)") % {"error": exc}
        raise FeedError(text, line + 1) from None


class _Replay:
    """A read-only stream that first gives back bytes already read."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            out, self.head = self.head + self.rest.read(), b""
            return out
        out, self.head = self.head[:size], self.head[size:]
        return out


def iter_lines(
    stream: BinaryIO, head: bytes, counter: _Counter, *, max_bytes: int
) -> Iterator[bytes | None]:
    """Yield each line's bytes (without the newline), or None for a line over MAX_LINE."""
    total = len(head)
    tail = b""
    skipping = False
    chunk = head
    while chunk:
        parts = chunk.split(b"\n")
        if skipping:
            if len(parts) == 1:
                chunk = _next_chunk(stream, counter)
                total = _count(total, len(chunk), max_bytes, counter)
                continue
            parts[0], skipping = b"", False
            counter.line += 1
            yield None
            parts = parts[1:]
        parts[0] = tail + parts[0]
        tail = parts.pop()
        for part in parts:
            counter.line += 1
            yield part if len(part) <= MAX_LINE else None
        if len(tail) > MAX_LINE:
            tail, skipping = b"", True
        chunk = _next_chunk(stream, counter)
        total = _count(total, len(chunk), max_bytes, counter)
    if skipping or tail:
        counter.line += 1
        yield None if skipping else tail


def _next_chunk(stream: BinaryIO, counter: _Counter) -> bytes:
    return _read_or_fail(stream, CHUNK, counter.line)


def _count(total: int, more: int, max_bytes: int, counter: _Counter) -> int:
    total += more
    if total > max_bytes:
        message = gettext("the file is larger than the %(limit)s byte limit (FEED_MAX_BYTES)")
        raise FeedError(message % {"limit": f"{max_bytes:,}"}, counter.line + 1)
    return total


def _decoded(raw: Iterator[bytes | None], counter: _Counter) -> Iterator[str | None]:
    """Decode lines, refusing binary data and HTML pages served in place of a list."""
    for data in raw:
        if data is None:
            yield None
            continue
        if b"\x00" in data:
            raise FeedError(_binary(), counter.line)
        text = data.decode("utf-8", "replace").strip()
        # No list format has a line starting with "<": a proxy's error page has.
        if text[:1] == "<" and _looks_like_html(text):
            raise FeedError(gettext("an HTML page was served instead of a list"), counter.line)
        yield text


def _binary() -> str:
    return gettext("binary data (NUL byte): this is not a text list")


_HTML = re.compile(r"<(!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)


def _looks_like_html(text: str) -> bool:
    return text.startswith("<") and bool(_HTML.match(text))


# --- Format detection --------------------------------------------------------


def detect_format(head: bytes) -> str:
    """The format :func:`probes.feed_detect.detect` decides from the file's first bytes."""
    try:
        return feed_detect.detect(head).format
    except feed_detect.DetectionError as exc:
        raise FeedError(str(exc)) from None


# --- Parsers -------------------------------------------------------------------

Parser = Callable[[Iterator[str | None], _Counter, dict], Iterator[Record]]


def parse_address_or_network(token: str) -> IPAddress | IPNetwork:
    """One address, or a network (a /32 or /128 is the address itself). Raises ValueError."""
    if "/" not in token:
        return ipaddress.ip_address(token)
    network = ipaddress.ip_network(token, strict=False)
    if network.num_addresses == 1:
        return network.network_address
    return network


def _entry(
    line: int, value: IPAddress | IPNetwork, reason: str = "", evidence: dict | None = None
) -> Entry:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return Entry(line, network=value, reason=reason, evidence=evidence)
    return Entry(line, address=value, reason=reason, evidence=evidence)


def _lines(lines: Iterator[str | None], counter: _Counter) -> Iterator[tuple[int, str] | Rejected]:
    """Non-blank, non-comment lines with their number; too-long lines as Rejected."""
    for text in lines:
        if text is None:
            yield Rejected(counter.line, TOO_LONG)
        elif text and text[0] not in "#;":
            yield counter.line, text


def _each_line(
    lines: Iterator[str | None], counter: _Counter, parse: Callable[[int, str], Iterator[Record]]
) -> Iterator[Record]:
    """``parse(number, text)`` on each line ``_lines`` gives; its Rejected pass through.

    parse_plain keeps its own loop: it is the hot path of a million-line
    import, and a generator a line would cost it."""
    for item in _lines(lines, counter):
        if isinstance(item, Rejected):
            yield item
        else:
            yield from parse(*item)


def parse_plain(lines: Iterator[str | None], counter: _Counter, options: dict) -> Iterator[Record]:
    """One IP (or CIDR) per line, '#' and ';' comments, anything after the first word ignored."""
    for item in _lines(lines, counter):
        if isinstance(item, Rejected):
            yield item
            continue
        number, text = item
        token = text.split(None, 1)[0]
        try:
            # The fast path: most lines are one dotted quad.
            yield Entry(number, IPv4Address(inet_pton(AF_INET, token)), text=token)
            continue
        except OSError:
            pass
        try:
            yield _entry(number, parse_address_or_network(token))
        except ValueError:
            yield Rejected(number, UNPARSABLE, text[:200])


def parse_spamhaus(
    lines: Iterator[str | None], counter: _Counter, options: dict
) -> Iterator[Record]:
    """Spamhaus DROP: ``CIDR ; SBLnnn`` text, or JSON lines ``{"cidr":…,"sblid":…,"rir":…}``."""
    return _each_line(lines, counter, _spamhaus_line)


def _spamhaus_line(number: int, text: str) -> Iterator[Record]:
    if text.startswith("{"):
        yield from _spamhaus_json(number, text)
        return
    cidr, _, sbl = text.partition(";")
    try:
        yield _entry(number, parse_address_or_network(cidr.strip()), sbl.strip()[:64])
    except ValueError:
        yield Rejected(number, UNPARSABLE, text[:200])


def _spamhaus_json(number: int, text: str) -> Iterator[Record]:
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):  # a 4 KiB line can nest deeper than json recurses
        yield Rejected(number, UNPARSABLE, text[:200])
        return
    if not isinstance(row, dict):
        yield Rejected(number, UNPARSABLE, text[:200])
        return
    if row.get("type") == "metadata":
        return
    try:
        value = parse_address_or_network(str(row.get("cidr", "")))
    except ValueError:
        yield Rejected(number, UNPARSABLE, text[:200])
        return
    evidence = {"rir": _short(row.get("rir"))} if row.get("rir") else None
    yield _entry(number, value, _short(row.get("sblid", ""))[:64], evidence)


def parse_dshield(
    lines: Iterator[str | None], counter: _Counter, options: dict
) -> Iterator[Record]:
    """DShield block.txt: start, end, prefix length (or netmask), attacks, name, country, email.

    Tab-separated as published, or space-separated as some mirrors rewrite
    it. A header line before the first row is skipped whatever it spells.
    """
    first = True
    for item in _lines(lines, counter):
        if isinstance(item, Rejected):
            yield item
            continue
        number, text = item
        cells = _dshield_cells(text)
        if first and not feed_detect.is_address_or_network(cells[0]):
            first = False
            continue
        first = False
        try:
            yield from _dshield_row(number, cells)
        except (ValueError, IndexError):
            yield Rejected(number, UNPARSABLE, text[:200])


def _dshield_cells(text: str) -> list[str]:
    if "\t" in text:
        return [c.strip() for c in text.split("\t")]
    # Space-separated: the name may hold spaces, so only the first four
    # cells are certain; the rest is kept whole as the name.
    cells = text.split(None, 4)
    return [*cells[:4], cells[4]] if len(cells) == 5 else cells


def _dshield_row(number: int, cells: list[str]) -> Iterator[Entry]:
    start = ipaddress.ip_address(cells[0])
    end = ipaddress.ip_address(cells[1])
    names = ("attacks", "name", "country", "email")
    evidence = {k: _short(v) for k, v in zip(names, cells[3:7], strict=False) if v}
    if "attacks" in evidence:
        attacks = evidence["attacks"]
        if attacks.isdecimal() and attacks.isascii():
            evidence["attacks"] = int(attacks)
        else:
            del evidence["attacks"]
    for network in ipaddress.summarize_address_range(start, end):
        yield _entry(number, parse_address_or_network(str(network)), "", evidence or None)


def parse_dataplane(
    lines: Iterator[str | None], counter: _Counter, options: dict
) -> Iterator[Record]:
    """dataplane.org: ``ASN | ASname | ipaddr | lastseen | category``."""
    return _each_line(lines, counter, _dataplane_line)


def _dataplane_line(number: int, text: str) -> Iterator[Record]:
    cells = [c.strip() for c in text.split("|")]
    try:
        value = parse_address_or_network(cells[2])
    except (ValueError, IndexError):
        yield Rejected(number, UNPARSABLE, text[:200])
        return
    evidence = {
        "as_name": _short(cells[1]),
        "lastseen": _short(cells[3] if len(cells) > 3 else ""),
    }
    if cells[0].isdecimal() and cells[0].isascii():
        evidence["asn"] = int(cells[0])
    yield _entry(number, value, _short(cells[4] if len(cells) > 4 else "")[:255], evidence)


def parse_rbldnsd(
    lines: Iterator[str | None], counter: _Counter, options: dict
) -> Iterator[Record]:
    """rbldnsd ip4set / ip4tset zone data.

    ``:A:TXT`` sets the default value, ``!entry`` is an exclusion, ``$``
    lines are directives; entries are addresses, CIDRs, partial prefixes
    (``127.0.0`` is a /24) and ranges (``1.2.3.4-10``, ``1.2.3.4-1.2.3.10``),
    optionally followed by their own ``:A:TXT``.
    """
    default = ("127.0.0.2", "")
    for item in _lines(lines, counter):
        if isinstance(item, Rejected):
            yield item
            continue
        number, text = item
        if text.startswith("$"):
            continue
        if text.startswith(":") and not text.startswith("::"):
            default = _rbl_value(text, default)
            continue
        if text.startswith("!"):
            yield Rejected(number, EXCLUDED, text[:200])
            continue
        token, _, value = text.partition(" ")
        a, txt = _rbl_value(value.strip(), default) if value.strip() else default
        try:
            networks = _rbl_networks(token)
        except ValueError:
            yield Rejected(number, UNPARSABLE, text[:200])
            continue
        for network in networks:
            value_ip = parse_address_or_network(str(network))
            shown = txt.replace("$", str(value_ip))[:255]
            yield _entry(number, value_ip, shown, {"a": a})


def _rbl_value(text: str, default: tuple[str, str]) -> tuple[str, str]:
    # ":127.0.0.2:Listed $", ":5:text" (A = 127.0.0.5), or "text" alone.
    if not text.startswith(":"):
        return default[0], _short(text)
    a, _, txt = text[1:].partition(":")
    a = a.strip()
    if a.isdigit():
        a = f"127.0.0.{a}"
    return (_short(a) or default[0]), _short(txt.strip() or default[1])


def _rbl_networks(token: str) -> list[IPNetwork]:
    if ":" in token:
        return [ipaddress.ip_network(token, strict=False)]
    if "-" in token:
        first, _, last = token.partition("-")
        start = ipaddress.IPv4Address(_pad(first)[0])
        if "." not in last:
            last = ".".join([*str(start).split(".")[:3], last])
        end = ipaddress.IPv4Address(last)
        if end < start:
            raise ValueError("range ends before it starts")
        return list(ipaddress.summarize_address_range(start, end))
    prefix, _, length = token.partition("/")
    address, implied = _pad(prefix)
    return [ipaddress.IPv4Network(f"{address}/{length or implied}", strict=False)]


def _pad(prefix: str) -> tuple[str, int]:
    """'127.0.0' → ('127.0.0.0', 24): rbldnsd's partial prefixes."""
    parts = prefix.split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ValueError(f"not an IPv4 prefix: {prefix!r}")
    return ".".join(parts + ["0"] * (4 - len(parts))), 8 * len(parts)


def parse_range(lines: Iterator[str | None], counter: _Counter, options: dict) -> Iterator[Record]:
    """Address ranges, ``a.b.c.d - e.f.g.h`` or ``a.b.c.d-e.f.g.h``; single
    addresses and CIDRs may be mixed in. Each range becomes its CIDR blocks."""
    return _each_line(lines, counter, _range_line)


def _range_line(number: int, text: str) -> Iterator[Record]:
    text = re.split(r"\s[#;]", text, maxsplit=1)[0].strip()
    try:
        yield from _range_entries(number, text)
    except ValueError:
        yield Rejected(number, UNPARSABLE, text[:200])


def _range_entries(number: int, text: str) -> Iterator[Entry]:
    if "-" not in text:
        yield _entry(number, parse_address_or_network(text.split(None, 1)[0]))
        return
    first, _, last = (part.strip() for part in text.partition("-"))
    start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
    if start.version != end.version or end < start:
        raise ValueError("not a range")
    for network in ipaddress.summarize_address_range(start, end):
        yield _entry(number, parse_address_or_network(str(network)))


# Names an IP column goes by, tried in order when --ip-column is not given.
CSV_IP_COLUMNS = ("ip", "ipaddr", "ip_address", "source.ip", "src_ip", "address", "addr")
# Shadowserver scan_smtp and friends: what we keep as evidence.
CSV_EVIDENCE = (
    "timestamp", "port", "protocol", "hostname", "tag", "asn", "geo", "region", "city",
    "sector", "banner", "severity", "naics",
)  # fmt: skip


def parse_csv(lines: Iterator[str | None], counter: _Counter, options: dict) -> Iterator[Record]:
    """A CSV; the IP column is the one detection chose by its values, or ``ip_column``.

    ``ip_column`` may be a header name, or a 1-based column number (then the
    first row is a header only if detection saw one).
    """
    wanted = str(options.get("ip_column") or "").strip()
    layout: feed_detect.CsvLayout | None = options.get("layout")
    texts = _csv_texts(lines, counter)
    first = next(texts, None)
    if first is None:
        return
    delimiter = layout.delimiter if layout else _sniff_delimiter(first[1])
    header_row = layout.header if layout else not wanted.isdecimal()
    try:
        header = [c.strip().lower() for c in _split_csv(first[1] or "", delimiter)]
    except csv.Error as exc:
        if header_row:
            text = gettext("unreadable CSV header (%(error)s)") % {"error": exc}
            raise FeedError(text, first[0]) from None
        header = []
    if wanted.isdecimal() and wanted.isascii():
        index = int(wanted) - 1
        if index < 0:
            raise FeedError(gettext("CSV column numbers start at 1"))
    elif layout and layout.ip_index is not None and not wanted:
        index = layout.ip_index
    else:
        index = _csv_ip_index(header, wanted, first[0])
    if not header_row:
        yield from _csv_rows(_chain_first(first, texts), delimiter, [], index, counter)
        return
    yield from _csv_rows(texts, delimiter, header, index, counter)


def _csv_texts(lines: Iterator[str | None], counter: _Counter) -> Iterator[tuple[int, str | None]]:
    for text in lines:
        if text is None:
            yield counter.line, None
        elif text and not text.startswith("#"):
            yield counter.line, text


def _chain_first(first: tuple[int, str | None], rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _sniff_delimiter(line: str | None) -> str:
    line = line or ""
    return max(",\t;|", key=line.count)


def _split_csv(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter), [])


def _csv_ip_index(header: list[str], wanted: str, line: int) -> int:
    names = [wanted.lower()] if wanted else list(CSV_IP_COLUMNS)
    for name in names:
        if name in header:
            return header.index(name)
    shown = ", ".join(header[:20])[:300]
    if wanted:
        text = gettext("the CSV header has no column %(names)s; columns: %(columns)s")
    else:
        text = gettext(
            "the CSV header has no column %(names)s (name it with --ip-column, or give its "
            "number for a file without header); columns: %(columns)s"
        )
    raise FeedError(text % {"names": " or ".join(map(repr, names)), "columns": shown}, line)


def _csv_rows(
    texts: Iterator[tuple[int, str | None]],
    delimiter: str,
    header: list[str],
    index: int,
    counter: _Counter,
) -> Iterator[Record]:
    keep = [(i, name) for i, name in enumerate(header) if name in CSV_EVIDENCE]
    for number, text in texts:
        if text is None:
            yield Rejected(number, TOO_LONG)
            continue
        try:
            cells = _split_csv(text, delimiter)
            value = parse_address_or_network(cells[index].strip())
        except (ValueError, IndexError, csv.Error):
            yield Rejected(number, UNPARSABLE, text[:200])
            continue
        evidence = {name: _short(cells[i]) for i, name in keep if i < len(cells) and cells[i]}
        yield _entry(number, value, _short(evidence.get("tag", ""))[:255], evidence or None)


def _short(value: object) -> str:
    return str(value if value is not None else "")[:MAX_EVIDENCE_VALUE]


PARSERS: dict[str, Parser] = {
    "plain": parse_plain,
    "cidr": parse_plain,
    "spamhaus": parse_spamhaus,
    "dshield": parse_dshield,
    "dataplane": parse_dataplane,
    "rbldnsd": parse_rbldnsd,
    "range": parse_range,
    "csv": parse_csv,
}


def open_feed(
    stream: BinaryIO,
    *,
    fmt: str = "auto",
    ip_column: str = "",
    max_bytes: int = 2 * 1024**3,
) -> ParsedFeed:
    """Open a (possibly gzipped) feed stream and return its format and records."""
    if fmt not in ("auto", *FORMATS):
        text = gettext("unknown format %(format)s; use auto or one of %(formats)s")
        raise FeedError(text % {"format": repr(fmt), "formats": ", ".join(FORMATS)})
    stream, head = _open_stream(stream)
    if not head.strip():
        # An empty download is a failed download: importing it would mark
        # every listing of the feed as removed.
        raise FeedError(gettext("the file is empty"))
    if b"\x00" in head[:DETECT_BYTES]:
        first_nul = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise FeedError(_binary(), first_nul)
    detection = _detection(head, fmt, ip_column, complete=len(head) < DETECT_BYTES)
    counter = _Counter()
    lines = _decoded(iter_lines(stream, head, counter, max_bytes=max_bytes), counter)
    options = {"ip_column": ip_column, "layout": detection.csv}
    records = PARSERS[detection.format](lines, counter, options)
    return ParsedFeed(
        format=detection.format, records=records, counter=counter, detected_by=detection.detected_by
    )


def _detection(head: bytes, fmt: str, ip_column: str, *, complete: bool) -> feed_detect.Detection:
    """Detect the format (or take the forced one) and, for a CSV, its layout."""
    try:
        if fmt == "auto":
            detection = feed_detect.detect(head, complete=complete, ip_column=ip_column)
        else:
            forced = gettext("forced with --format %(format)s") % {"format": fmt}
            detection = feed_detect.Detection(fmt, forced)
        if detection.format == "csv" and detection.csv is None:
            layout = feed_detect.csv_layout(head, ip_column=ip_column, complete=complete)
            if layout is not None:
                detection = feed_detect.Detection("csv", detection.detected_by, layout[0])
    except feed_detect.DetectionError as exc:
        raise FeedError(str(exc)) from None
    return detection


# --- Screening: what may become a host or a listed network -------------------

NETWORK_TOO_LARGE = "network_too_large"
HOST = "host"
NETWORK = "network"


@dataclass(frozen=True)
class Policy:
    """What the operator allows in; built from settings by the service."""

    never_contact: tuple[IPNetwork, ...] = ()
    allowed: tuple[IPNetwork, ...] = ()
    expand_networks: bool = False
    expand_max_addresses: int = 256
    # Hosts one import may create by expanding networks, so a file of a
    # million /24s cannot become 256 million rows (and the memory to dedupe them).
    expand_max_total: int = 1_000_000
    min_prefix_v4: int = 8
    min_prefix_v6: int = 16


@dataclass
class Tally:
    """What screening did with a file's records; an import's summary is one."""

    accepted: int = 0
    duplicates: int = 0
    networks: int = 0
    expanded_networks: int = 0
    expanded_hosts: int = 0
    # Networks kept but not expanded because expand_max_total was reached.
    expansions_skipped: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


def screen(
    records: Iterator[Record], policy: Policy, tally: Tally
) -> Iterator[tuple[str, str, Entry]]:
    """Keep what may be stored, once each: yields (HOST or NETWORK, key, entry).

    The key is the canonical address or CIDR text. Refusals and duplicates
    are counted in ``tally``; nothing refused is ever yielded.
    """
    seen: set[str] = set()
    for record in records:
        if isinstance(record, Rejected):
            tally.reject(record.reason)
        elif record.address is not None:
            yield from _screen_address(record, record.address, policy, tally, seen)
        elif record.network is not None:
            yield from _screen_network(record, record.network, policy, tally, seen)


def _screen_address(
    entry: Entry, address: IPAddress, policy: Policy, tally: Tally, seen: set[str]
) -> Iterator[tuple[str, str, Entry]]:
    if entry.text and not policy.never_contact and not policy.allowed:
        refusal = None if addresses.is_global(address) else addresses.NON_GLOBAL
    else:
        refusal = addresses.refusal_reason(
            address, never_contact=policy.never_contact, allowed=policy.allowed
        )
    if refusal:
        tally.reject(refusal)
        return
    tally.accepted += 1
    key = entry.text or str(addresses.canonical_address(address))
    if key in seen:
        tally.duplicates += 1
        return
    seen.add(key)
    yield HOST, key, entry


def _screen_network(
    entry: Entry, network: IPNetwork, policy: Policy, tally: Tally, seen: set[str]
) -> Iterator[tuple[str, str, Entry]]:
    limit = policy.min_prefix_v4 if network.version == 4 else policy.min_prefix_v6
    refusal = addresses.network_refusal_reason(
        network, never_contact=policy.never_contact, allowed=policy.allowed
    )
    if refusal or network.prefixlen < limit:
        tally.reject(refusal or NETWORK_TOO_LARGE)
        return
    tally.accepted += 1
    key = str(network)
    if key in seen:
        tally.duplicates += 1
        return
    seen.add(key)
    tally.networks += 1
    yield NETWORK, key, entry
    if policy.expand_networks and network.num_addresses <= policy.expand_max_addresses:
        if tally.expanded_hosts + network.num_addresses > policy.expand_max_total:
            tally.expansions_skipped += 1
            return
        tally.expanded_networks += 1
        yield from _expand(entry, network, policy, tally, seen)


def _expand(
    entry: Entry, network: IPNetwork, policy: Policy, tally: Tally, seen: set[str]
) -> Iterator[tuple[str, str, Entry]]:
    # The hosts of a listed network were not listed one by one: they are
    # neither counted as accepted lines nor as duplicates.
    for address in network:
        key = str(address)
        if key not in seen:
            seen.add(key)
            tally.expanded_hosts += 1
            yield HOST, key, entry
