"""Import registries' RPSL dumps into a prefix table, and read it back.

``registry_dump_import`` streams one or more (gzipped) files in two passes:
first the contact objects (roles, organisations, IRTs: small, kept in
memory), then the network objects, each resolved by its registry's own rule
(``probes.registry_rules``) and written at once (COPY on PostgreSQL), so
memory stays bounded by the contact objects, not the four million networks.

One import is one ``RegistryDataset`` (registry, dump serial or date),
written and swapped in in one transaction: lookups see the previous version
until the commit, then the new one. The previous version's rows are deleted
after the swap.

``registry_contact`` answers for an address: the most specific prefix, and
the registry's inheritance rule up the covering blocks.
"""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import connection, transaction
from django.utils import timezone

from outreach.lib.iputil import network_keys
from probes import rdap
from probes.models import RegistryDataset, RegistryPrefix
from probes.registry_rules import (
    CONTACT_KINDS,
    NETWORK_KINDS,
    REGISTRIES,
    ContactBook,
    Layer,
    network_chain_pick,
    network_own,
    range_networks,
)
from probes.rpsl import RpslError, RpslObject, lines_decoded, objects_read

BATCH = 5000
MAX_ERRORS_KEPT = 100
# RIPE and APNIC split their dumps by object class: read only what a pass needs.
_NETWORK_FILES = (".inetnum", ".inet6num")
_CONTACT_FILES = (".role", ".organisation", ".irt", ".person")
_OTHER_FILES = (".aut-num", ".route", ".route6", ".mntner", ".as-set", ".domain", ".as-block")
# What a prefix row says, beside where it is: written by the load, read back by the answer.
PREFIX_FIELDS = ("handle", "netname", "country", "abuse_email", "rule", "refused", "registry_block")
COLUMNS = ("dataset_id", "prefix", "range_start", "range_end", *PREFIX_FIELDS)
Progress = Callable[[int], None]


class DumpError(ValueError):
    """A dump we refuse as a whole (unknown registry, unreadable file)."""


@dataclass
class Figures:
    """What one load of a registry dump read, kept and refused (stored on the dataset)."""

    objects: int = 0
    networks: int = 0
    prefixes: int = 0
    with_contact: int = 0
    refused_objects: int = 0
    refused_contacts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def refuse(self, path: str, exc: RpslError) -> None:
        self.refused_objects += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{Path(path).name}: {exc}")

    def as_dict(self) -> dict:
        # Stored on the dataset: the 20 most refused contacts are enough to act on.
        # vars(), not asdict(): no deep copy of a counter about to be replaced.
        return vars(self) | {
            "refused_contacts": dict(self.refused_contacts.most_common(20)),
            "seconds": round(self.seconds, 1),
        }


# --- Reading -----------------------------------------------------------------


def _file_kind(path: str) -> str:
    name = Path(path).name.lower().removesuffix(".gz")
    for kind, suffixes in (
        ("networks", _NETWORK_FILES),
        ("contacts", _CONTACT_FILES),
        ("other", _OTHER_FILES),
    ):
        if name.endswith(suffixes):
            return kind
    return "mixed"


def _objects(
    path: str,
    *,
    figures: Figures | None,
    progress: Progress | None,
    kinds: frozenset[str] | None = None,
) -> Iterator[RpslObject]:
    on_error = (lambda exc: figures.refuse(path, exc)) if figures else None
    try:
        raw = Path(path).open("rb")  # noqa: SIM115 (closed below; a generator)
    except OSError as exc:
        raise DumpError(f"{path}: {exc.strerror}") from None
    with raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        lines = lines_decoded(_counted(stream, raw, progress))
        yield from objects_read(lines, on_error=on_error, kinds=kinds)


def _counted(stream: IO[bytes], raw: IO[bytes], progress: Progress | None) -> Iterator[bytes]:
    # Progress in bytes of the file on disk (compressed): its size is the total.
    for number, line in enumerate(stream):
        if progress is not None and number % 20000 == 0:
            progress(raw.tell())
        yield line
    if progress is not None:
        progress(raw.tell())


def contacts_read(paths: list[str], *, progress: Progress | None = None) -> ContactBook:
    """Pass 1: the mailboxes of roles, IRTs (and persons), organisations' abuse-c."""
    book = ContactBook()
    for path in paths:
        if _file_kind(path) not in {"contacts", "mixed"}:
            continue
        for obj in _objects(path, figures=None, progress=progress, kinds=CONTACT_KINDS):
            if obj.kind in CONTACT_KINDS:
                book.add(obj)
    return book


def rows_read(
    paths: list[str],
    *,
    registry: str,
    book: ContactBook,
    figures: Figures,
    progress: Progress | None = None,
) -> Iterator[tuple]:
    """Pass 2: one row per CIDR of every network object, its own contact resolved."""

    checked: dict[str, str | ValueError] = {}

    def check(raw: str) -> str:
        # Thousands of networks share one role: validate each mailbox once.
        if raw not in checked:
            try:
                checked[raw] = rdap.email_check(raw)
            except ValueError as exc:
                checked[raw] = exc
        result = checked[raw]
        if isinstance(result, ValueError):
            raise result
        return result

    for path in paths:
        if _file_kind(path) not in {"networks", "mixed"}:
            continue
        for obj in _objects(path, figures=figures, progress=progress, kinds=NETWORK_KINDS):
            figures.objects += 1
            if obj.kind in NETWORK_KINDS:
                yield from _network_rows(obj, path, registry, book, check, figures)


def _network_rows(
    obj: RpslObject,
    path: str,
    registry: str,
    book: ContactBook,
    check: Callable[[str], str],
    figures: Figures,
) -> Iterator[tuple]:
    try:
        networks = range_networks(obj.key)
    except ValueError as exc:
        figures.refuse(path, RpslError(obj.line, str(exc)))
        return
    own = network_own(obj, registry=registry, book=book, email_check=check)
    figures.networks += 1
    figures.with_contact += bool(own.email)
    if own.refused and not own.email:
        figures.refused_contacts[own.refused.split(":", 1)[-1].strip()[:60]] += 1
    country = obj.first("country")[:2].upper()
    country = country if country.isalpha() and len(country) == 2 else ""
    for net in networks:
        start, end = network_keys(net)
        figures.prefixes += 1
        yield (
            str(net),
            start,
            end,
            obj.key[:100],
            obj.first("netname")[:100],
            country,
            own.email,
            own.rule,
            own.refused[:255],
            own.registry_block,
        )


# --- Writing -----------------------------------------------------------------


def _write(dataset_id: int, rows: Iterable[tuple]) -> None:
    if connection.vendor == "postgresql":
        _write_copy(dataset_id, rows)
    else:
        _write_orm(dataset_id, rows)


def _write_copy(dataset_id: int, rows: Iterable[tuple]) -> None:
    sql = f"COPY probes_registryprefix ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((dataset_id, *row))


def _write_orm(dataset_id: int, rows: Iterable[tuple]) -> None:
    batch: list[RegistryPrefix] = []
    for row in rows:
        batch.append(RegistryPrefix(**dict(zip(COLUMNS, (dataset_id, *row), strict=True))))
        if len(batch) >= BATCH:
            RegistryPrefix.objects.bulk_create(batch)
            batch = []
    RegistryPrefix.objects.bulk_create(batch)


# --- The service -------------------------------------------------------------


def registry_dump_import(
    *,
    paths: list[str],
    registry: str,
    serial: str = "",
    progress: Progress | None = None,
) -> RegistryDataset:
    """Import ``paths`` as the new version of ``registry``'s data and swap it in.

    Raises DumpError for an unknown registry or an unreadable file; a
    malformed object is refused (counted, with its line) and the rest kept.
    """
    if registry not in REGISTRIES:
        raise DumpError(f"unknown registry {registry!r}: use one of {', '.join(REGISTRIES)}")
    for path in paths:
        if not Path(path).is_file():
            raise DumpError(f"{path}: no such file")
    begun = time.monotonic()
    figures = Figures()
    book = contacts_read(paths, progress=progress)
    with transaction.atomic():
        dataset = RegistryDataset.objects.create(
            registry=registry, serial=serial or _serial_of(paths), files=[str(p) for p in paths]
        )
        _write(
            dataset.id,
            rows_read(paths, registry=registry, book=book, figures=figures, progress=progress),
        )
        figures.seconds = time.monotonic() - begun
        dataset.figures = figures.as_dict()
        _swap(dataset)
    registry_dumps_prune(registry=registry)
    return dataset


def _serial_of(paths: list[str]) -> str:
    # Registries date their dumps by day; the newest file's date stands in.
    newest = max(Path(p).stat().st_mtime for p in paths)
    return dt.datetime.fromtimestamp(newest, tz=dt.UTC).date().isoformat()


def _swap(dataset: RegistryDataset) -> None:
    RegistryDataset.objects.filter(
        registry=dataset.registry, status=RegistryDataset.Status.ACTIVE
    ).update(status=RegistryDataset.Status.SUPERSEDED)
    dataset.status = RegistryDataset.Status.ACTIVE
    dataset.activated_at = timezone.now()
    dataset.save(update_fields=["status", "activated_at", "figures"])


def registry_dumps_prune(*, registry: str) -> int:
    """Delete the prefixes of superseded versions (kept only until the swap)."""
    old = RegistryDataset.objects.filter(
        registry=registry, status=RegistryDataset.Status.SUPERSEDED
    ).values_list("id", flat=True)
    deleted, _by_model = RegistryPrefix.objects.filter(dataset_id__in=list(old)).delete()
    return deleted


# --- Reading back ------------------------------------------------------------


@dataclass(frozen=True)
class DumpAnswer:
    """What the active datasets say about one address."""

    cidr: str
    handle: str
    netname: str
    country: str
    registry: str
    serial: str
    email: str
    rule: str
    answered_by: str  # the handle of the object whose contact it is
    refused: str


_PG_SQL = """
SELECT p.prefix::text, p.handle, p.netname, p.country, p.abuse_email, p.rule, p.refused,
       p.registry_block, d.registry, d.serial
FROM probes_registryprefix p
JOIN probes_registrydataset d ON d.id = p.dataset_id AND d.status = 'active'
WHERE p.prefix >>= %s::inet
ORDER BY masklen(p.prefix) DESC, p.id
LIMIT 64
"""


def _layers_rows(ip: str) -> list[tuple]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_SQL, [ip])
            return cursor.fetchall()
    from outreach.lib.iputil import ip_key

    key = ip_key(ip)
    found = (
        RegistryPrefix.objects.filter(
            dataset__status=RegistryDataset.Status.ACTIVE, range_start__lte=key, range_end__gte=key
        )
        .order_by("-range_start", "range_end", "id")
        .values_list("prefix", *PREFIX_FIELDS, "dataset__registry", "dataset__serial")[:64]
    )
    return list(found)


def registry_contact(*, ip: str) -> DumpAnswer | None:
    """The active bulk data's answer for ``ip``: most specific prefix, with inheritance.

    None when no imported prefix holds the address.
    """
    ipaddress.ip_address(ip)  # ValueError for a non-address, before any SQL
    rows = _layers_rows(ip)
    if not rows:
        return None
    layers = [Layer(email=r[4], rule=r[5], registry_block=r[7]) for r in rows]
    picked = network_chain_pick(layers)
    first = rows[0]
    country = next((r[3] for r in rows if r[3]), "")
    email, rule, by = ("", "", "") if picked is None else (picked[1], picked[2], rows[picked[0]][1])
    return DumpAnswer(
        cidr=str(first[0]),
        handle=first[1],
        netname=first[2],
        country=country,
        registry=first[8],
        serial=first[9],
        email=email,
        rule=rule,
        answered_by=by,
        refused=first[6] if not email else "",
    )


def _has_inner(prefix: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether an active prefix lies strictly inside ``prefix`` (or overlaps part of it)."""
    start, end = network_keys(prefix)
    inside = RegistryPrefix.objects.filter(
        dataset__status=RegistryDataset.Status.ACTIVE, range_start__gte=start, range_end__lte=end
    ).exclude(range_start=start, range_end=end)
    return inside.exists()


def block_without_inner(*, ip: str, cidr: str) -> str:
    """The largest block around ``ip`` inside ``cidr`` that holds no more specific prefix.

    A network cached under the answer's own CIDR would shadow the more
    specific objects inside it (the assignments around a gap in a dump).
    """
    address = ipaddress.ip_address(ip)
    block = ipaddress.ip_network(cidr)
    while block.prefixlen < block.max_prefixlen and _has_inner(block):
        block = next(half for half in block.subnets(1) if address in half)
    return str(block)
