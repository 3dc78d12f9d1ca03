"""Feed import: a generated 1,000,000-line list into PostgreSQL, COPY path vs naive ORM.

The file mixes IPv4, IPv6, CIDRs and comments, with 1% junk, 5% duplicates
and 0.5% non-global addresses. Both paths import into an empty host table.
The naive path is the same service forced onto Django's ``bulk_create``
(``method="orm"``); it runs on the first BASELINE_LINES lines of the same
file, because at its rate the whole file takes minutes, and the ratio
compares lines per second.

Run alone: ``python -m bench.import_bench [LINES]``.
"""

from __future__ import annotations

import ipaddress
import os
import random
import sys
import tempfile
from pathlib import Path

from bench.common import Measure, Row, peak_rss_mb, print_table, setup_django, timed, versus

LINES = 1_000_000
BASELINE_LINES = 200_000
TARGET_LINES_PER_S = 150_000
TARGET_RATIO = 5.0
NON_GLOBAL = ["10.{}.{}.{}", "192.168.{}.{}", "100.64.{}.{}", "224.{}.{}.{}", "127.0.{}.{}"]


def _global_v4(rng: random.Random) -> str:
    from probes.addresses import is_global

    while True:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if is_global(ip):
            return str(ip)


def _line(rng: random.Random, earlier: list[str]) -> str:
    roll = rng.random()
    if roll < 0.05 and earlier:
        return rng.choice(earlier)
    if roll < 0.06:
        return rng.choice(["garbage-line", "1.2.3", "300.1.1.1", "::g", "example.com"])
    if roll < 0.065:
        return rng.choice(NON_GLOBAL).format(*(rng.randrange(256) for _ in range(3)))
    if roll < 0.075:
        return "# comment " + str(rng.random())
    if roll < 0.095:
        return f"{_global_v4(rng).rsplit('.', 1)[0]}.0/{rng.choice([24, 26, 28])}"
    if roll < 0.175:
        return str(ipaddress.IPv6Address((0x2A00 << 112) | rng.getrandbits(100)))
    return _global_v4(rng)


def generate(path: Path, lines: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    earlier: list[str] = []
    with path.open("w") as out:
        out.write("# generated blocklist for bench/import_bench.py\n")
        for _ in range(lines - 1):
            line = _line(rng, earlier)
            if len(earlier) < 50_000 and not line.startswith("#"):
                earlier.append(line)
            out.write(line + "\n")


def _empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE probes_listing, probes_probe, outreach_campaign_hosts, outreach_host,"
            " probes_feed CASCADE"
        )


def _import(path: Path, method: str) -> tuple[float, object]:
    from probes.feed_import import feed_import
    from probes.models import Feed

    _empty_tables()
    feed = Feed.objects.create(name=f"bench-{method}", format="auto")
    with path.open("rb") as stream, timed() as elapsed:
        summary = feed_import(feed=feed, stream=stream, method=method)
    return elapsed(), summary


def run(lines: int = LINES) -> list[Row]:
    setup_django()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-feed.txt"
        generate(path, lines)
        size_mb = os.path.getsize(path) / 1e6
        fast, summary = _import(path, "auto")
        rss = peak_rss_mb()
        again, _ = _timed_reimport(path)
        baseline_lines = min(lines, BASELINE_LINES)
        head = Path(tmp) / "bench-head.txt"
        with path.open() as source, head.open("w") as out:
            out.writelines(line for _, line in zip(range(baseline_lines), source, strict=False))
        naive, _naive_summary = _import(head, "orm")
        _empty_tables()
    print(f"{lines:,} lines ({size_mb:.0f} MB): {summary}", file=sys.stderr)
    # Lines per second, not seconds: the ORM path imports only the file's head.
    copy = Measure(lines / fast, "lines/s", f"{fast:.1f} s", digits=0)
    orm_how = f"ORM, {baseline_lines:,} lines in {naive:.1f} s"
    orm = Measure(baseline_lines / naive, "lines/s", orm_how, digits=0)
    return [
        versus(
            f"feed import, {lines:,} lines, PostgreSQL COPY",
            f">= {TARGET_LINES_PER_S:,} lines/s, >= {TARGET_RATIO:.0f}x ORM",
            copy,
            orm,
            ok=copy.value >= TARGET_LINES_PER_S and copy.beats(orm) >= TARGET_RATIO,
        ),
        Row(
            figure="feed re-import of the same file",
            target="",
            measured=str(Measure(lines / again, "lines/s", f"{again:.1f} s", digits=0)),
        ),
        Row(
            figure="feed import peak memory (MB)",
            target="< 500",
            measured=f"{rss:.0f}",
            ok=rss < 500,
        ),
    ]


def _timed_reimport(path: Path) -> tuple[float, object]:
    from probes.feed_import import feed_import
    from probes.models import Feed

    feed = Feed.objects.get(name="bench-auto")
    with path.open("rb") as stream, timed() as elapsed:
        summary = feed_import(feed=feed, stream=stream)
    return elapsed(), summary


if __name__ == "__main__":
    print_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else LINES))
