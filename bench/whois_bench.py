"""Contacts for 20,000 hosts in 800 networks, from the lab's RDAP simulator.

The simulator answers with 50 ms latency and a 429 on every 100th request.
Eight worker threads take shuffled batches of 500 hosts (the worst case for
single-flight: every network has hosts in many batches at once); hosts that
had to wait go round again after the Retry-After, as a Celery retry would.
The naive baseline asks the registry once per host, with no cache, on a
1,000-host sample in the same run; its time is scaled to 20,000 hosts.

    python -m bench.whois_bench
"""

from __future__ import annotations

import contextlib
import random
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import Row, print_table, setup_django, timed

NETWORKS = 800
HOSTS_PER_NETWORK = 25
LATENCY = 0.05
FAIL_EVERY = 100
WORKERS = 8
BATCH = 500
BASELINE_SAMPLE = 1000


def _ips() -> list[str]:
    # 2001:db8::/32 is the documentation range: the lab's networks are /48s in it.
    return [
        f"2001:db8:{n:x}:{h:x}::{h + 1:x}"
        for n in range(1, NETWORKS + 1)
        for h in range(HOSTS_PER_NETWORK)
    ]


def _configure() -> None:
    from django.conf import settings

    settings.RDAP_ALLOWED_NETWORKS = ["2001:db8::/32"]
    # The simulator is ours: no need to spare it like a real registry.
    settings.RDAP_RATE_LIMITS = {"bootstrap": (10_000.0, 10_000.0)}
    # Lock blocks the size of the lab's networks (production: /32).
    settings.RDAP_LOCK_PREFIX_V6 = 48
    settings.RDAP_NATIONAL_CONTACTS = {}


def _reset_rows() -> list[int]:
    from outreach.models import Contact, Host, Network

    Host.objects.filter(ip__startswith="2001:db8:").delete()
    Network.objects.filter(cidr__startswith="2001:db8:").delete()
    Contact.objects.filter(email__endswith=".example", email__startswith="abuse@isp-").delete()
    Host.objects.bulk_create([Host(ip=ip) for ip in _ips()], batch_size=5000)
    return list(Host.objects.filter(ip__startswith="2001:db8:").values_list("id", flat=True))


def _batch(host_ids: list[int]) -> list[int]:
    from django.db import connection

    from probes.contacts import contacts_lookup

    try:
        rows = contacts_lookup(host_ids=host_ids)
    finally:
        connection.close()
    return [row["host_id"] for row in rows if row.get("retry")]


def _run_campaign(host_ids: list[int]) -> int:
    """Look everything up; returns the number of rounds (1 + retries)."""
    pending, rounds = list(host_ids), 0
    random.Random(5).shuffle(pending)
    while pending:
        rounds += 1
        batches = [pending[i : i + BATCH] for i in range(0, len(pending), BATCH)]
        with ThreadPoolExecutor(WORKERS) as pool:
            pending = [hid for deferred in pool.map(_batch, batches) for hid in deferred]
        if pending:
            time.sleep(1.0)  # the simulator's Retry-After
    return rounds


def _naive(base_url: str, ips: list[str]) -> None:
    from probes import rdap

    def one(ip: str) -> None:
        # The naive loop just moves on past a 429.
        with contextlib.suppress(rdap.RdapRateLimited):
            raw = rdap.rdap_fetch(ip, base_url=base_url, allowed=["2001:db8::/32"])
            rdap.network_extract(raw, ip=ip)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, ips))


def run() -> list[Row]:
    setup_django()
    _configure()
    from lab.rdap import RdapSimulator, generated_answer
    from outreach.models import Host
    from probes.flight import buckets_reset

    buckets_reset()
    host_ids = _reset_rows()
    sim = RdapSimulator(generate=generated_answer, latency=LATENCY, fail_every=FAIL_EVERY)
    with sim:
        from django.conf import settings

        settings.RDAP_BASE_URL = sim.base_url
        with timed() as elapsed:
            rounds = _run_campaign(host_ids)
        total = elapsed()
        requests, duplicates, limited = sim.requests, sim.duplicate_in_flight(), sim.rate_limited
    done = Host.objects.filter(ip__startswith="2001:db8:", contact__isnull=False).count()
    sample = random.Random(7).sample(_ips(), BASELINE_SAMPLE)
    naive = RdapSimulator(generate=generated_answer, latency=LATENCY, fail_every=FAIL_EVERY)
    with naive, timed() as naive_elapsed:
        _naive(naive.base_url, sample)
    naive_total = naive_elapsed() * len(host_ids) / BASELINE_SAMPLE
    hosts = len(host_ids)
    print(
        f"{hosts} hosts, {NETWORKS} networks: {total:.1f}s, {requests} RDAP requests "
        f"({requests / hosts:.3f} per host, {limited} answered 429), {rounds} rounds, "
        f"{done} hosts with a contact; naive per-host lookup ~{naive_total:.0f}s "
        f"(scaled from {BASELINE_SAMPLE}); ratio {naive_total / total:.1f}x"
    )
    return [
        Row(
            "RDAP requests, 20k hosts / 800 networks",
            "<= 820",
            str(requests),
            str(hosts),
            f"{hosts / requests:.0f}x fewer",
            requests <= 820,
        ),
        Row("duplicate in-flight queries per network", "0", str(duplicates), ok=duplicates == 0),
        Row("RDAP requests per host", "", f"{requests / hosts:.3f}", "1.000"),
        Row(
            "contact lookup, 20k hosts (50 ms, 429 every 100th)",
            "",
            f"{total:.1f} s",
            f"{naive_total:.0f} s (scaled)",
            f"{naive_total / total:.1f}x",
            done == hosts,
        ),
    ]


if __name__ == "__main__":
    print_table(run())
