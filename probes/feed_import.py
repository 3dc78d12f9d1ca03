"""Feed import: the one service behind the command, the admin upload and the task.

Each file is one transaction: a file that fails half-way commits nothing,
and earlier imports stay as they were. On PostgreSQL the screened rows are
streamed with COPY (psycopg 3) into a temporary table while the file is
still being parsed, then merged into hosts, listings and the campaign's
hosts with ``INSERT … WHERE NOT EXISTS`` under an advisory lock. Elsewhere
(SQLite) a plain bulk path through the ORM does the same merge.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypedDict, Unpack

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from outreach.models import Campaign, Host
from probes import addresses
from probes.feeds import (
    HOST,
    NETWORK,
    Entry,
    FeedError,
    ParsedFeed,
    Policy,
    Rejected,
    Tally,
    open_feed,
    screen,
)
from probes.models import Feed, Listing
from probes.sources import source_open

Progress = Callable[[int], None]
# Call ``progress`` (with the lines read so far) every this many rows.
PROGRESS_EVERY = 50_000
BATCH = 5_000


class ImportOptions(TypedDict, total=False):
    """How to read and file one import: what callers of ``feed_import`` pass through."""

    fmt: str
    ip_column: str
    campaign: Campaign | None
    progress: Progress | None
    snapshot: bool


@dataclass(kw_only=True)
class ImportSummary(Tally):
    """What one file's import did: the screening's tally, and what the writer
    and the snapshot changed. ``as_dict`` is the ``--json`` summary."""

    feed: str
    source: str
    format: str = ""
    # The detection rule that decided the format, in words.
    detected_by: str = ""
    lines: int = 0
    new_hosts: int = 0
    updated_hosts: int = 0
    removed_listings: int = 0
    not_modified: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def import_policy(*, feed: Feed) -> Policy:
    """The screening rules from settings, for this feed."""
    return Policy(
        never_contact=addresses.parse_networks(settings.NEVER_CONTACT_NETWORKS),
        allowed=addresses.parse_networks(settings.PROBE_ALLOWED_NETWORKS),
        expand_networks=feed.is_host_list,
        expand_max_addresses=settings.FEED_EXPAND_MAX_ADDRESSES,
        expand_max_total=settings.FEED_EXPAND_MAX_TOTAL,
        min_prefix_v4=settings.FEED_NETWORK_MIN_PREFIX_V4,
        min_prefix_v6=settings.FEED_NETWORK_MIN_PREFIX_V6,
    )


def feed_import(
    *,
    feed: Feed,
    stream: BinaryIO,
    source: str = "",
    fmt: str = "",
    ip_column: str = "",
    campaign: Campaign | None = None,
    progress: Progress | None = None,
    method: str = "auto",
    snapshot: bool = True,
) -> ImportSummary:
    """Import one file into hosts and listings, as one transaction.

    ``fmt`` defaults to the feed's format (``auto`` detects it). When the file
    is a full ``snapshot`` of the feed (a download from its URL), listings of
    this feed that the file no longer has are marked removed; an upload of
    additions only (``snapshot=False``) removes nothing. ``method`` is
    ``auto`` (COPY on PostgreSQL, the ORM elsewhere) or ``orm`` (the naive
    bulk_create path, kept for the benchmark's baseline). Raises FeedError.
    """
    started = time.perf_counter()
    parsed = _feed_open(feed, stream, fmt, ip_column)
    summary = ImportSummary(
        feed=feed.name, source=source, format=parsed.format, detected_by=parsed.detected_by
    )
    rows = _with_progress(
        screen(parsed.records, import_policy(feed=feed), summary), parsed, progress
    )
    use_copy = method == "auto" and connection.vendor == "postgresql"
    with transaction.atomic():
        now = timezone.now()
        writer = _CopyWriter if use_copy else _OrmWriter
        new, total = writer(feed=feed, now=now, campaign=campaign).write(rows)
        if snapshot:
            summary.removed_listings = _listings_mark_removed(feed=feed, now=now)
        feed.last_imported_at = now
        feed.save(update_fields=["last_imported_at"])
    _summary_fill(summary, parsed.lines, new, total, started)
    return summary


def _feed_open(feed: Feed, stream: BinaryIO, fmt: str, ip_column: str) -> ParsedFeed:
    # ``fmt`` defaults to the feed's format, and that to detection.
    return open_feed(
        stream,
        fmt=fmt or feed.format or "auto",
        ip_column=ip_column,
        max_bytes=settings.FEED_MAX_BYTES,
    )


def _summary_fill(summary: ImportSummary, lines: int, new: int, total: int, started: float) -> None:
    summary.lines = lines
    summary.rejected = dict(sorted(summary.rejected.items()))
    summary.new_hosts = new
    summary.updated_hosts = total - new
    summary.seconds = round(time.perf_counter() - started, 3)


def feed_import_source(
    *, feed: Feed, source: str = "", **options: Unpack[ImportOptions]
) -> ImportSummary:
    """Import a path or an http(s) URL (default: the feed's own ``url``).

    A URL is fetched conditionally; a 304 imports nothing and says so. The
    ETag and Last-Modified are saved only after a successful import.
    """
    source = source or feed.url
    if not source:
        raise FeedError(f"feed {feed.name!r} has no URL or path to import from")
    opened = source_open(
        source,
        etag=feed.etag,
        last_modified=feed.last_modified,
        timeout=settings.FEED_FETCH_TIMEOUT,
    )
    if opened.not_modified:
        return ImportSummary(feed=feed.name, source=source, not_modified=True)
    try:
        summary = feed_import(
            feed=feed,
            stream=opened.stream,  # type: ignore[arg-type]
            source=source,
            **options,
        )
    finally:
        opened.close()
    if opened.etag or opened.last_modified:
        feed.etag, feed.last_modified = opened.etag, opened.last_modified
        feed.save(update_fields=["etag", "last_modified"])
    return summary


def _with_progress(
    rows: Iterator[tuple[str, str, Entry]], parsed: object, progress: Progress | None
) -> Iterator[tuple[str, str, Entry]]:
    if progress is None:
        yield from rows
        return
    for count, row in enumerate(rows, 1):
        if count % PROGRESS_EVERY == 0:
            progress(parsed.lines)  # type: ignore[attr-defined]
        yield row
    progress(parsed.lines)  # type: ignore[attr-defined]


def _listings_mark_removed(*, feed: Feed, now: object) -> int:
    """Listings this import did not see again: the feed dropped them."""
    return Listing.objects.filter(feed=feed, removed_at__isnull=True, last_seen__lt=now).update(
        removed_at=now
    )


def _host_extras(entry: Entry) -> tuple[int | None, str]:
    """ASN and country when the feed's evidence carries them (dataplane, CSV)."""
    evidence = entry.evidence or {}
    asn = evidence.get("asn")
    asn = (
        int(asn)
        if isinstance(asn, int) or (isinstance(asn, str) and asn.isdecimal() and asn.isascii())
        else None
    )
    if asn is not None and not 0 <= asn < 2**32:
        asn = None
    country = str(evidence.get("geo") or evidence.get("country") or "")
    return asn, country.upper() if len(country) == 2 and country.isalpha() else ""


# --- PostgreSQL: COPY into a temporary table, then merge --------------------

# Only fixed names from model meta are formatted into the SQL below; every
# value goes in as a parameter or through COPY.
_TEMP = "feed_import_rows"
_CREATE_TEMP = f"""
    SET LOCAL temp_buffers = '256MB';
    DROP TABLE IF EXISTS {_TEMP};
    CREATE TEMP TABLE {_TEMP} (
        ip inet, cidr text, reason text NOT NULL, evidence jsonb NOT NULL,
        asn bigint, country varchar(2) NOT NULL
    ) ON COMMIT DROP
"""
# Any fixed number: the advisory lock that serialises the merge phase.
_MERGE_LOCK = 0x0F_EED_1
_HOST, _LISTING = Host._meta.db_table, Listing._meta.db_table
_INSERT_HOSTS = f"""
    INSERT INTO {_HOST} (ip, status, last_verdict, country, asn, ptr, contact_rule, created_at)
    SELECT t.ip, %s, '', t.country, t.asn, '', '', %s FROM {_TEMP} t
    WHERE t.ip IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {_HOST} h WHERE h.ip = t.ip)
    ORDER BY t.ip
"""  # noqa: S608
_TEMP_HOSTS = "feed_import_hosts"
_RESOLVE_HOSTS = f"""
    DROP TABLE IF EXISTS {_TEMP_HOSTS};
    CREATE TEMP TABLE {_TEMP_HOSTS} ON COMMIT DROP AS
    SELECT h.id AS host_id, t.reason, t.evidence FROM {_TEMP} t JOIN {_HOST} h ON h.ip = t.ip
"""  # noqa: S608
_UPDATE_HOST_LISTINGS = f"""
    UPDATE {_LISTING} l
    SET last_seen = %s, removed_at = NULL, reason = x.reason, evidence = x.evidence
    FROM {_TEMP_HOSTS} x
    WHERE l.feed_id = %s AND l.host_id = x.host_id
"""  # noqa: S608
_INSERT_HOST_LISTINGS = f"""
    INSERT INTO {_LISTING} (feed_id, host_id, cidr, first_seen, last_seen, reason, evidence)
    SELECT %s, x.host_id, '', %s, %s, x.reason, x.evidence FROM {_TEMP_HOSTS} x
    WHERE NOT EXISTS (
        SELECT 1 FROM {_LISTING} l WHERE l.feed_id = %s AND l.host_id = x.host_id
    )
    ORDER BY x.host_id
"""  # noqa: S608
_TEMP_NETWORKS = "feed_import_networks"
_SPLIT_NETWORKS = f"""
    DROP TABLE IF EXISTS {_TEMP_NETWORKS};
    CREATE TEMP TABLE {_TEMP_NETWORKS} ON COMMIT DROP AS
    SELECT cidr, reason, evidence FROM {_TEMP} WHERE cidr IS NOT NULL;
    ANALYZE {_TEMP_NETWORKS}
"""  # noqa: S608
_UPDATE_NETWORK_LISTINGS = f"""
    UPDATE {_LISTING} l
    SET last_seen = %s, removed_at = NULL, reason = n.reason, evidence = n.evidence
    FROM {_TEMP_NETWORKS} n
    WHERE l.feed_id = %s AND l.host_id IS NULL AND l.cidr = n.cidr
"""  # noqa: S608
_INSERT_NETWORK_LISTINGS = f"""
    INSERT INTO {_LISTING} (feed_id, host_id, cidr, first_seen, last_seen, reason, evidence)
    SELECT %s, NULL, n.cidr, %s, %s, n.reason, n.evidence FROM {_TEMP_NETWORKS} n
    WHERE NOT EXISTS (
        SELECT 1 FROM {_LISTING} l WHERE l.feed_id = %s AND l.host_id IS NULL AND l.cidr = n.cidr
    )
"""  # noqa: S608
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


class _CopyWriter:
    def __init__(self, *, feed: Feed, now: object, campaign: Campaign | None) -> None:
        self.feed = feed
        self.now = now
        self.campaign = campaign

    def write(self, rows: Iterator[tuple[str, str, Entry]]) -> tuple[int, int]:
        """Stream rows into the temp table, merge; return (new hosts, hosts listed)."""
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_TEMP)
            with cursor.cursor.copy(f"COPY {_TEMP} FROM STDIN") as copy:
                buffer: list[str] = []
                for kind, key, entry in rows:
                    buffer.append(self._line(kind, key, entry))
                    if len(buffer) >= BATCH:
                        copy.write("".join(buffer))
                        buffer.clear()
                copy.write("".join(buffer))
            return self._merge(cursor)

    @staticmethod
    def _line(kind: str, key: str, entry: Entry) -> str:
        evidence = _copy_text(json.dumps(entry.evidence)) if entry.evidence else "{}"
        reason = _copy_text(entry.reason) if entry.reason else ""
        if kind == NETWORK:
            return f"\\N\t{key}\t{reason}\t{evidence}\t\\N\t\n"
        asn, country = _host_extras(entry) if entry.evidence else (None, "")
        asn_text = "\\N" if asn is None else str(asn)
        return f"{key}\t\\N\t{reason}\t{evidence}\t{asn_text}\t{country}\n"

    def _merge(self, cursor: object) -> tuple[int, int]:
        # Imports parse and COPY in parallel but merge one at a time: with
        # the lock, NOT EXISTS is race-free, and it is about twice as fast
        # as ON CONFLICT's speculative insertion on a table with many indexes.
        run = cursor.execute  # type: ignore[attr-defined]
        run("SELECT pg_advisory_xact_lock(%s)", [_MERGE_LOCK])
        # Sort a million addresses in memory, not in 4 MB runs on disk.
        run("SET LOCAL work_mem = '128MB'")
        first_import = not Listing.objects.filter(feed=self.feed).exists()
        run(f"ANALYZE {_TEMP}")
        run(_INSERT_HOSTS, [Host.Status.SUSPECTED, self.now])
        new = cursor.rowcount  # type: ignore[attr-defined]
        # Resolve host ids once, with statistics, so the planner does not
        # trust the stale estimates of tables this transaction just filled.
        run(_RESOLVE_HOSTS)
        run(f"ANALYZE {_TEMP_HOSTS}")
        run(f"SELECT count(*) FROM {_TEMP_HOSTS}")  # noqa: S608
        listed = cursor.fetchone()[0]  # type: ignore[attr-defined]
        run(_SPLIT_NETWORKS)
        feed, now = self.feed.pk, self.now
        if first_import:
            run(_INSERT_HOST_LISTINGS, [feed, now, now, feed])
            run(_INSERT_NETWORK_LISTINGS, [feed, now, now, feed])
        else:
            # Fresh statistics: the listing table may have grown by a
            # million rows since autovacuum last looked.
            run(f"ANALYZE {_LISTING}")
            run(_UPDATE_HOST_LISTINGS, [now, feed])
            run(_UPDATE_NETWORK_LISTINGS, [now, feed])
            run(_INSERT_HOST_LISTINGS, [feed, now, now, feed])
            run(_INSERT_NETWORK_LISTINGS, [feed, now, now, feed])
        self._merge_campaign(cursor)
        return new, listed

    def _merge_campaign(self, cursor: object) -> None:
        if self.campaign is None:
            return
        through = Campaign.hosts.through._meta.db_table
        cursor.execute(  # type: ignore[attr-defined]
            f"""INSERT INTO {through} (campaign_id, host_id)
                SELECT %s, host_id FROM {_TEMP_HOSTS} ON CONFLICT DO NOTHING""",  # noqa: S608 (table names come from model meta)
            [self.campaign.pk],
        )


# --- Elsewhere: the plain ORM bulk path ----------------------------------------


class _OrmWriter:
    def __init__(self, *, feed: Feed, now: object, campaign: Campaign | None) -> None:
        self.feed = feed
        self.now = now
        self.campaign = campaign
        self.new = 0
        self.total = 0

    def write(self, rows: Iterator[tuple[str, str, Entry]]) -> tuple[int, int]:
        hosts: dict[str, Entry] = {}
        networks: dict[str, Entry] = {}
        for kind, key, entry in rows:
            (hosts if kind == HOST else networks)[key] = entry
            if len(hosts) >= BATCH:
                self._hosts(hosts)
                hosts.clear()
            if len(networks) >= BATCH:
                self._networks(networks)
                networks.clear()
        self._hosts(hosts)
        self._networks(networks)
        return self.new, self.total

    def _hosts(self, batch: dict[str, Entry]) -> None:
        if not batch:
            return
        existing = set(Host.objects.filter(ip__in=batch).values_list("ip", flat=True))
        fresh = [self._host(ip, entry) for ip, entry in batch.items() if ip not in existing]
        Host.objects.bulk_create(fresh, ignore_conflicts=True)
        self.new += len(fresh)
        self.total += len(batch)
        ids = dict(Host.objects.filter(ip__in=batch).values_list("ip", "id"))
        self._listings({ids[ip]: entry for ip, entry in batch.items()}, "host_id")
        if self.campaign is not None:
            through = Campaign.hosts.through
            links = [through(campaign_id=self.campaign.pk, host_id=pk) for pk in ids.values()]
            through.objects.bulk_create(links, ignore_conflicts=True)

    def _host(self, ip: str, entry: Entry) -> Host:
        asn, country = _host_extras(entry) if entry.evidence else (None, "")
        return Host(ip=ip, asn=asn, country=country, created_at=self.now)

    def _networks(self, batch: dict[str, Entry]) -> None:
        if batch:
            self._listings(batch, "cidr")

    def _listings(self, batch: dict, column: str) -> None:
        """Refresh the listings this feed already has, create the others."""
        if column == "cidr":
            current = Listing.objects.filter(feed=self.feed, host__isnull=True, cidr__in=batch)
        else:
            current = Listing.objects.filter(feed=self.feed, host_id__in=batch)
        known = {getattr(row, column): row for row in current}
        for key, row in known.items():
            row.last_seen, row.removed_at = self.now, None
            row.reason, row.evidence = batch[key].reason, batch[key].evidence or {}
        Listing.objects.bulk_update(
            list(known.values()), ["last_seen", "removed_at", "reason", "evidence"]
        )
        Listing.objects.bulk_create(
            [self._listing(column, key, entry) for key, entry in batch.items() if key not in known]
        )

    def _listing(self, column: str, key: object, entry: Entry) -> Listing:
        return Listing(
            feed=self.feed,
            first_seen=self.now,
            last_seen=self.now,
            reason=entry.reason,
            evidence=entry.evidence or {},
            **{column: key},
        )


# --- Preview: what an import would do, writing nothing ---------------------------


@dataclass
class FeedPreview:
    format: str
    lines: int
    tally: Tally
    # (line, kind, address or CIDR, the feed's reason) of the first rows kept.
    rows: list[tuple[int, str, str, str]]
    # (line, reason, text) of the first lines refused by the parser.
    rejected_lines: list[tuple[int, str, str]]
    detected_by: str = ""
    # What a commit would change: hosts new to the database, hosts it already
    # has, and this feed's listings a full snapshot would mark removed.
    new_hosts: int = 0
    updated_hosts: int = 0
    removals: int = 0
    removal_samples: list[str] = field(default_factory=list)


def feed_preview(
    *, feed: Feed, stream: BinaryIO, fmt: str = "", ip_column: str = "", limit: int = 20
) -> FeedPreview:
    """Parse and screen the whole file as an import would, without writing. Raises FeedError."""
    parsed = _feed_open(feed, stream, fmt, ip_column)
    preview = FeedPreview(
        format=parsed.format,
        detected_by=parsed.detected_by,
        lines=0,
        tally=Tally(),
        rows=[],
        rejected_lines=[],
    )
    records = _noting_rejects(parsed.records, preview.rejected_lines, limit)
    hosts: set[str] = set()
    networks: set[str] = set()
    for kind, key, entry in screen(records, import_policy(feed=feed), preview.tally):
        (hosts if kind == HOST else networks).add(key)
        if len(preview.rows) < limit:
            preview.rows.append((entry.line, kind, key, entry.reason))
    preview.lines = parsed.lines
    preview.updated_hosts = _hosts_known(hosts)
    preview.new_hosts = len(hosts) - preview.updated_hosts
    _removals_count(preview, feed, hosts | networks, limit)
    return preview


def _hosts_known(keys: set[str], chunk: int = 5000) -> int:
    """How many of these addresses are hosts already (in indexed chunks)."""
    ordered = sorted(keys)
    return sum(
        Host.objects.filter(ip__in=ordered[i : i + chunk]).count()
        for i in range(0, len(ordered), chunk)
    )


def _removals_count(preview: FeedPreview, feed: Feed, keys: set[str], limit: int) -> None:
    """This feed's live listings that the file lacks: what a full snapshot removes."""
    live = Listing.objects.filter(feed=feed, removed_at__isnull=True)
    for ip, cidr in live.values_list("host__ip", "cidr").iterator(chunk_size=5000):
        key = str(ip) if ip is not None else cidr
        if key not in keys:
            preview.removals += 1
            if len(preview.removal_samples) < limit:
                preview.removal_samples.append(key)


def _noting_rejects(
    records: Iterator, rejected: list[tuple[int, str, str]], limit: int
) -> Iterator:
    for record in records:
        if isinstance(record, Rejected) and len(rejected) < limit:
            rejected.append((record.line, record.reason, record.text))
        yield record
