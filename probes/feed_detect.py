"""Which layout a blocklist uses, decided by its lines, not by one header spelling.

Pure: bytes in, a :class:`Detection` out. ``detect(head)`` samples the data
lines of the file's first bytes and tries each layout's line grammar in a
fixed order, most specific first. A layout wins when at least
``FIT_SHARE`` of the sampled lines fit it; header names are used only as a
hint, when a file has no data lines to sample or a CSV has two columns of
addresses. ``detected_by`` says, in words, which rule decided: the import
summary, ``--json`` and the admin preview show it.

A file that fits no layout raises :class:`DetectionError`, which names the
layouts tried and quotes the first lines that fit none of them.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# A layout wins when this share of the sampled data lines fit it: real lists
# carry the odd junk line, which the parser then refuses with its line number.
FIT_SHARE = 0.9
SAMPLE_LINES = 500
MAX_SAMPLE_LINE = 4096
QUOTED_LINES = 3
CSV_DELIMITERS = (",", "\t", ";", "|")
# Column names that say "this is the listed host". src_ip/dst_ip are left
# out on purpose: a file with both must not be guessed.
STRONG_IP_NAMES = frozenset(
    {"ip", "ipaddr", "ip_address", "ipaddress", "ip_str", "ipv4", "ipv6", "source.ip", "address",
     "addr", "host", "src"}
)  # fmt: skip
HINT_IP_NAMES = (
    "ip", "ipaddr", "ip_address", "source.ip", "src_ip", "dst_ip", "address", "addr", "ipv4",
)  # fmt: skip


class DetectionError(ValueError):
    """No known layout fits the file; the message says what was tried and what failed."""


@dataclass(frozen=True)
class CsvLayout:
    delimiter: str
    # 0-based index of the address column, or None when the parser must find
    # it by the name it was given.
    ip_index: int | None
    header: bool
    column_name: str = ""


@dataclass(frozen=True)
class Detection:
    format: str
    detected_by: str
    csv: CsvLayout | None = None


# --- sampling ----------------------------------------------------------------


def sample_lines(head: bytes, *, complete: bool) -> list[str]:
    """The data lines of ``head``: stripped, not blank, not a ``#``/``;`` comment.

    Unless ``complete``, the last line may have been cut by the read size and
    is dropped.
    """
    lines = head.decode("utf-8", "replace").split("\n")
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    out = []
    for line in lines:
        text = line.strip()
        if text and text[0] not in "#;" and len(text) <= MAX_SAMPLE_LINE:
            out.append(text)
            if len(out) >= SAMPLE_LINES:
                break
    return out


def is_address_or_network(token: str) -> bool:
    token = token.strip().strip('"')
    if not token or len(token) > 64:
        return False
    try:
        if "/" in token:
            ipaddress.ip_network(token, strict=False)
        else:
            ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


def _is_address(token: str) -> bool:
    return "/" not in token and is_address_or_network(token)


# --- line grammars -------------------------------------------------------------


def fits_spamhaus_json(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return False
    if not isinstance(row, dict):
        return False
    return row.get("type") == "metadata" or is_address_or_network(str(row.get("cidr", "")))


_SBL = re.compile(r"^(\S+)\s*;\s*SBL\d+\b")


def fits_spamhaus_text(line: str) -> bool:
    match = _SBL.match(line)
    return bool(match) and is_address_or_network(match.group(1))


def _dshield_cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


def fits_dshield(line: str) -> bool:
    """start, end, prefix length (or a dotted netmask), tab or space separated."""
    cells = _dshield_cells(line)
    if len(cells) < 3 or not (_is_address(cells[0]) and _is_address(cells[1])):
        return False
    size = cells[2]
    if size.isdecimal() and size.isascii():
        return int(size) <= 128
    return _is_address(size) and "." in size


# An address has dots (IPv4) or colons (IPv6): a bare hex word such as "a"
# or "cafe" is not one, however hex its letters.
_ADDRESS_SHAPED = re.compile(r"^(?=[^/]*[.:])[0-9A-Fa-f:.]+(/\d{1,3})?$")


def fits_dataplane(line: str) -> bool:
    # By shape: a row whose address is junk is still a dataplane row, which
    # the parser then refuses with its line number.
    cells = line.split("|")
    return len(cells) >= 3 and bool(_ADDRESS_SHAPED.match(cells[2].strip()))


_RANGE = re.compile(r"^(\S+?)\s*-\s*(\S+)(\s+[#;].*)?$")


def fits_range(line: str) -> bool:
    """``a.b.c.d - e.f.g.h`` or ``a.b.c.d-e.f.g.h``: two whole addresses."""
    match = _RANGE.match(line)
    if not match or not (_is_address(match.group(1)) and _is_address(match.group(2))):
        return False
    first, last = (ipaddress.ip_address(match.group(i)) for i in (1, 2))
    return first.version == last.version and first <= last


def fits_plain(line: str) -> bool:
    """One address or network, and at most a ``#`` or ``;`` comment after it."""
    token, *rest = line.split(None, 1)
    return is_address_or_network(token) and (not rest or rest[0][0] in "#;")


def fits_plain_loose(line: str) -> bool:
    """The first word is an address or network; anything may follow."""
    return is_address_or_network(line.split(None, 1)[0])


_PARTIAL = re.compile(r"^\d{1,3}(\.\d{1,3}){0,2}(/\d{1,2})?$")
_SHORT_RANGE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}-\d{1,3}$")


def rbldnsd_marker(line: str) -> bool:
    """A line only an rbldnsd zone has: a directive, a default value, an
    exclusion, a partial prefix, a short range or an entry's own value."""
    if line.startswith(("$SOA", "$NS", "$TTL", "$ORIGIN", "!")):
        return True
    if line.startswith(":") and not line.startswith("::"):
        return True
    token, _, value = line.partition(" ")
    if value.strip().startswith(":") and not value.strip().startswith("::"):
        return True
    return bool(_PARTIAL.match(token) or _SHORT_RANGE.match(token))


def fits_rbldnsd(line: str) -> bool:
    if rbldnsd_marker(line):
        return True
    token = line.split(None, 1)[0]
    return is_address_or_network(token) or fits_range(token)


# --- the rules, most specific first --------------------------------------------


@dataclass(frozen=True)
class Rule:
    format: str
    description: object  # a lazy translation: read in the reader's language
    fits: Callable[[str], bool]
    # A rule with a marker wins only when at least one line has that marker:
    # a list of plain addresses fits the rbldnsd grammar too.
    marker: Callable[[str], bool] | None = None
    header_allowed: bool = False


RULES: tuple[Rule, ...] = (
    Rule("spamhaus", gettext_lazy("Spamhaus DROP JSON lines ({\"cidr\": …})"),
         fits_spamhaus_json),
    Rule("spamhaus", gettext_lazy("Spamhaus DROP/EDROP lines (CIDR ; SBLnnn)"), fits_spamhaus_text),
    Rule(
        "dshield",
        gettext_lazy("DShield rows (start, end, prefix length)"),
        fits_dshield,
        header_allowed=True,
    ),
    Rule("dataplane", gettext_lazy("dataplane rows (|-separated, address in the third column)"),
         fits_dataplane),
    Rule("rbldnsd", gettext_lazy("rbldnsd zone lines (directives, prefixes, ranges)"),
         fits_rbldnsd, marker=rbldnsd_marker),
    Rule("range", gettext_lazy("address ranges (a.b.c.d - e.f.g.h)"),
         lambda ln: fits_range(ln) or fits_plain(ln), marker=fits_range),
    Rule("plain", gettext_lazy("one address or CIDR a line"), fits_plain),
)  # fmt: skip
TRIED = ("spamhaus (text and JSON)", "dshield", "dataplane", "rbldnsd", "range", "plain/cidr",
         "csv")  # fmt: skip


def _share(lines: list[str], rule: Rule) -> tuple[int, int]:
    """(lines that fit, lines counted): a header line is not counted where allowed."""
    fits = [rule.fits(line) for line in lines]
    counted = len(lines)
    if rule.header_allowed and lines and not fits[0] and not _has_address(lines[0]):
        counted -= 1
    return sum(fits), counted


def _has_address(line: str) -> bool:
    return any(is_address_or_network(t) for t in re.split(r"[\s,;|\"-]+", line) if t)


def _decide(rule: Rule, lines: list[str]) -> str | None:
    if rule.marker is not None and not any(rule.marker(line) for line in lines):
        return None
    fit, counted = _share(lines, rule)
    if enough(fit, counted):
        text = _("%(fit)d of %(counted)d sampled lines are %(what)s")
        return text % {"fit": fit, "counted": counted, "what": rule.description}
    return None


def enough(fit: int, counted: int) -> bool:
    """At least FIT_SHARE of the lines fit; in a short sample, one odd line is allowed."""
    allowed = max(int(counted * (1 - FIT_SHARE)), 1 if fit >= 2 else 0)
    return fit >= 1 and counted - fit <= allowed


def detect(head: bytes, *, complete: bool = True, ip_column: str = "") -> Detection:
    """Decide a file's layout from its first bytes (decompressed)."""
    lines = sample_lines(head, complete=complete)
    if not any(_has_address(line) or rbldnsd_marker(line) for line in lines):
        # Only a header (or nothing): there is no content to decide by.
        return _by_hint(head)
    if lines[0].startswith("<"):
        # An HTML error page: let the reader refuse it with its line number.
        return Detection("plain", _("an HTML page, refused while reading"))
    for rule in RULES:
        reason = _decide(rule, lines)
        if reason:
            fmt = rule.format
            if fmt == "plain" and any("/" in ln.split(None, 1)[0] for ln in lines):
                fmt = "cidr"
            return Detection(fmt, reason)
    layout = csv_layout(head, ip_column=ip_column, complete=complete)
    if layout is not None:
        return Detection("csv", layout[1], layout[0])
    loose = sum(fits_plain_loose(line) for line in lines)
    if enough(loose, len(lines)):
        text = _("%(fit)d of %(counted)d sampled lines start with an address")
        return Detection("plain", text % {"fit": loose, "counted": len(lines)})
    raise DetectionError(_no_fit_message(lines))


def _no_fit_message(lines: list[str]) -> str:
    grammars = [rule.fits for rule in RULES] + [fits_plain_loose]
    misfits = [ln for ln in lines if not any(fits(ln) for fits in grammars)] or lines
    quoted = "; ".join(repr(ln[:120]) for ln in misfits[:QUOTED_LINES])
    text = _(
        "no known format fits this file (tried %(tried)s); lines that fit none: %(lines)s. "
        "Force one with --format, or name the address column with --ip-column"
    )
    return text % {"tried": ", ".join(TRIED), "lines": quoted}


def _by_hint(head: bytes) -> Detection:
    """No data lines to sample: fall back on what a header line says."""
    text = head.decode("utf-8", "replace")
    header = next(
        (ln.strip() for ln in text.split("\n") if ln.strip()[:1] not in ("", "#", ";")), ""
    )
    cells = [c.strip().strip('"').lower() for c in re.split(r"[,\t;|]", header)]
    if cells[:2] == ["start", "end"]:
        return Detection("dshield", _("hint: a header naming start and end (no data lines)"))
    if len(cells) > 1 and any(c in HINT_IP_NAMES for c in cells):
        hint = _("hint: a CSV header naming an address column (no data lines)")
        return Detection("csv", hint)
    return Detection("plain", _("no data lines to sample"))


# --- CSV: delimiter and address column by their values ---------------------------


def csv_rows(head: bytes, delimiter: str, *, complete: bool) -> list[list[str] | None]:
    """Rows of the sampled lines split by ``delimiter`` (None for an unreadable line)."""
    rows: list[list[str] | None] = []
    for line in sample_lines(head, complete=complete):
        try:
            rows.append(next(csv.reader([line], delimiter=delimiter), []))
        except csv.Error:
            rows.append(None)
    return rows


def _delimiter(head: bytes, *, complete: bool) -> tuple[str, list[list[str] | None]] | None:
    """The delimiter whose rows agree on one width of two columns or more."""
    best = None
    for delimiter in CSV_DELIMITERS:
        rows = csv_rows(head, delimiter, complete=complete)
        widths = Counter(len(row) for row in rows if row is not None)
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        share = count / len(rows)
        if width >= 2 and enough(count, len(rows)) and (best is None or share > best[0]):
            best = (share, delimiter, rows)
    return (best[1], best[2]) if best else None


def csv_layout(
    head: bytes, *, ip_column: str = "", complete: bool = True
) -> tuple[CsvLayout, str] | None:
    """The CSV layout and the words that explain it, or None if this is no CSV.

    Raises :class:`DetectionError` when two columns hold addresses and nothing
    says which one is meant.
    """
    found = _delimiter(head, complete=complete)
    if found is None:
        return None
    delimiter, sampled = found
    # An unreadable first line is taken as the header, so the parser names it.
    first = sampled[0]
    header = len(sampled) > 1 and (first is None or not any(map(is_address_or_network, first)))
    names = [c.strip().lower() for c in first or []] if header else []
    body = [row for row in (sampled[1:] if header else sampled) if row is not None]
    shown = {",": "','", "\t": _("tab"), ";": "';'", "|": "'|'"}[delimiter]
    if ip_column:
        given = _("CSV (%(delimiter)s-separated), column %(column)s as given")
        return CsvLayout(delimiter, None, header), given % {
            "delimiter": shown,
            "column": repr(ip_column),
        }
    qualified = _address_columns(body)
    if len(qualified) > 1:
        strong = [i for i in qualified if i < len(names) and names[i] in STRONG_IP_NAMES]
        if len(strong) != 1:
            both = ", ".join(_column_label(i, names) for i in qualified)
            text = _(
                "two or more columns hold addresses (%(columns)s): say which one with --ip-column"
            )
            raise DetectionError(text % {"columns": both})
        qualified = strong
    if not qualified:
        named = [i for i, name in enumerate(names) if name in HINT_IP_NAMES]
        if not named:
            return None
        index = named[0]
        why = _(
            "CSV (%(delimiter)s-separated); column %(column)s named like an address column "
            "(its values mostly are not)"
        )
    else:
        index = qualified[0]
        why = _(
            "CSV (%(delimiter)s-separated); column %(column)s holds addresses in at least "
            "%(share)s of sampled rows"
        )
    label = _column_label(index, names)
    name = names[index] if index < len(names) else ""
    parts = {"delimiter": shown, "column": label, "share": f"{FIT_SHARE:.0%}"}
    return CsvLayout(delimiter, index, header, name), why % parts


def _address_columns(rows: list[list[str]]) -> list[int]:
    if not rows:
        return []
    width = max(len(row) for row in rows)
    qualified = []
    for index in range(width):
        hits = sum(1 for row in rows if index < len(row) and is_address_or_network(row[index]))
        if enough(hits, len(rows)):
            qualified.append(index)
    return qualified


def _column_label(index: int, names: list[str]) -> str:
    if index < len(names) and names[index]:
        return _("%(name)s (number %(number)d)") % {"name": repr(names[index]), "number": index + 1}
    return _("number %(number)d") % {"number": index + 1}
