"""Which registry answers for an address, from IANA's RFC 7484 bootstrap files.

The files ship in ``probes/data/`` (``ipv4.json``, ``ipv6.json``) and
``rdap_bootstrap_refresh`` replaces them, so a lookup never costs a
bootstrap request. Pure: reads files, touches no database.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

DATA_DIR = Path(__file__).resolve().parent / "data"
FILES = ("ipv4.json", "ipv6.json")
MAX_BYTES = 1_000_000
# RDAP base URL host → our registry name (the buckets of probes.flight).
REGISTRY_OF_HOST = {
    "rdap.arin.net": "arin",
    "rdap.db.ripe.net": "ripe",
    "rdap.apnic.net": "apnic",
    "rdap.lacnic.net": "lacnic",
    "rdap.afrinic.net": "afrinic",
}


class BootstrapError(ValueError):
    """A bootstrap file we refuse to use; the message says why."""


@dataclass(frozen=True)
class Table:
    """Sorted, non-overlapping (start, end, registry) ranges of one family."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    registries: tuple[str, ...]

    def find(self, value: int) -> str:
        position = bisect.bisect_right(self.starts, value) - 1
        if position >= 0 and value <= self.ends[position]:
            return self.registries[position]
        return ""


def bootstrap_parse(text: str) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
    """The (prefix, registry) pairs of an RFC 7484 file; BootstrapError if malformed."""
    if len(text) > MAX_BYTES:
        raise BootstrapError(f"larger than {MAX_BYTES} bytes")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise BootstrapError(f"not JSON: {exc}") from None
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, list) or not services:
        raise BootstrapError("no services array")
    pairs = []
    for service in services:
        pairs += _service_pairs(service)
    if not pairs:
        raise BootstrapError("no prefix served by a known registry")
    return pairs


def _service_pairs(service: object) -> list:
    if not (isinstance(service, list) and len(service) == 2):
        raise BootstrapError("a service is not [prefixes, urls]")
    prefixes, urls = service
    hosts = {urlsplit(u).hostname for u in urls if isinstance(u, str)}
    registry = next((REGISTRY_OF_HOST[h] for h in hosts if h in REGISTRY_OF_HOST), "")
    if not registry:
        return []  # A NIR or a registry we do not bucket: leave it to ipwhois.
    try:
        return [(ipaddress.ip_network(p), registry) for p in prefixes]
    except (TypeError, ValueError) as exc:
        raise BootstrapError(f"bad prefix: {exc}") from None


def table_build(pairs: list) -> Table:
    ranges = sorted(
        (int(net.network_address), int(net.broadcast_address), registry) for net, registry in pairs
    )
    for (_s, end, _r), (start, _e, _r2) in itertools.pairwise(ranges):
        if start <= end:
            raise BootstrapError("overlapping prefixes")
    return Table(*(tuple(column) for column in zip(*ranges, strict=True)))


@lru_cache(maxsize=4)
def tables(data_dir: str = str(DATA_DIR)) -> dict[int, Table]:
    """One table per IP version, read once per process."""
    found = {}
    for name, version in zip(FILES, (4, 6), strict=True):
        path = Path(data_dir) / name
        found[version] = table_build(bootstrap_parse(path.read_text(encoding="utf-8")))
    return found


def registry_for(ip: str, *, data_dir: str = str(DATA_DIR)) -> str:
    """The registry ("ripe", "arin"...) that answers for ``ip``, or "" if none."""
    address = ipaddress.ip_address(ip)
    return tables(data_dir)[address.version].find(int(address))
