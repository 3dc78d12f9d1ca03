"""Shared harness for the benchmarks: one result row format, one table.

Each benchmark module ``bench/<name>_bench.py`` exposes ``run() -> list[Row]``
and can be run alone with ``python -m bench.<name>_bench``. ``make bench``
(``python -m bench``) runs them all and prints one table: figure, target,
measured, baseline, ratio. A row that sets the product path against its
naive baseline is made by ``versus``, which works out the ratio.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/outreach_bench"
)


@dataclass
class Row:
    figure: str
    target: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    ok: bool | None = None


@dataclass(frozen=True)
class Measure:
    """One side of a comparison: a rate ("letters/s", higher wins) or a time ("ms", lower wins)."""

    value: float
    unit: str
    note: str = ""  # how the figure was got, printed after it in brackets
    digits: int = 1

    def __str__(self) -> str:
        text = f"{self.value:,.{self.digits}f} {self.unit}"
        return f"{text} ({self.note})" if self.note else text

    def beats(self, other: Measure) -> float:
        """How many times better than ``other``: a rate divides one way round, a time the other."""
        if self.unit != other.unit:
            raise ValueError(f"cannot compare {self.unit} with {other.unit}")
        if self.unit.endswith("/s"):
            return self.value / other.value
        return other.value / self.value


def versus(
    figure: str,
    target: str,
    measured: Measure,
    baseline: Measure,
    ok: bool | None = None,
    *,
    ratio_digits: int = 1,
) -> Row:
    """The row that sets the product path against the naive baseline timed in the same run.

    The ratio is always how many times the product path beats the baseline,
    worked out here once so that no benchmark divides a time the way round
    meant for a rate.
    """
    ratio = f"{measured.beats(baseline):.{ratio_digits}f}x"
    return Row(figure, target, str(measured), str(baseline), ratio, ok)


def setup_django(database_url: str | None = BENCH_DATABASE_URL) -> None:
    """Point Django at the benchmark database (PostgreSQL by default) and migrate.

    Benchmarks never touch the developer's own database: they use their own,
    created on demand and migrated here.
    """
    import django

    if database_url:
        os.environ["DATABASE_URL"] = database_url
        os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
        os.environ.setdefault("ALLOWED_HOSTS", "localhost")
        postgres_database_ensure(database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outreach.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def forked_worker_init() -> None:
    """A forked worker's first step: drop the parent's database connections.

    The parent had connections open when it forked; a child must never talk
    on them, so each child opens its own.
    """
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()
        conn.connection = None


def postgres_database_ensure(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    elapsed: list[float] = []
    yield lambda: elapsed[0] if elapsed else time.perf_counter() - start
    elapsed.append(time.perf_counter() - start)


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = subprocess.run(
            ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        cpu = model or cpu
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def print_table(rows: list[Row]) -> None:
    headers = ["figure", "target", "measured", "baseline", "ratio", "ok"]
    cells = [
        [
            r.figure,
            r.target,
            r.measured,
            r.baseline,
            r.ratio,
            {True: "yes", False: "NO"}.get(r.ok, ""),
        ]
        for r in rows
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(f"| {line} |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) + " |")
