"""Contacts for 20,000 hosts in 800 networks, from the lab's RDAP simulator.

The simulator answers with 50 ms latency and a 429 on every 100th request.
Eight worker threads take batches of 500 hosts, twice: in address order, as
``campaign_contacts_lookup`` fans out, then shuffled (the worst case for
single-flight: every network has hosts in many batches at once). Hosts that
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


def _run_campaign(host_ids: list[int], *, shuffled: bool) -> int:
    """Look everything up; returns the number of rounds (1 + retries)."""
    pending, rounds = list(host_ids), 0
    if shuffled:
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


def _measure(*, shuffled: bool) -> dict:
    from django.conf import settings

    from lab.rdap import RdapSimulator, generated_answer
    from outreach.lib.bucket import buckets_reset
    from outreach.models import Host

    buckets_reset()
    host_ids = _reset_rows()  # in address order, as the campaign fan-out sends them
    sim = RdapSimulator(generate=generated_answer, latency=LATENCY, fail_every=FAIL_EVERY)
    with sim:
        settings.RDAP_BASE_URL = sim.base_url
        with timed() as elapsed:
            rounds = _run_campaign(host_ids, shuffled=shuffled)
    done = Host.objects.filter(ip__startswith="2001:db8:", contact__isnull=False).count()
    result = {
        "hosts": len(host_ids),
        "seconds": elapsed(),
        "requests": sim.requests,
        "duplicates": sim.duplicate_in_flight(),
        "limited": sim.rate_limited,
        "rounds": rounds,
        "done": done,
    }
    print(("shuffled" if shuffled else "address order") + f": {result}")
    return result


def _baseline() -> float:
    from lab.rdap import RdapSimulator, generated_answer

    sample = random.Random(7).sample(_ips(), BASELINE_SAMPLE)
    naive = RdapSimulator(generate=generated_answer, latency=LATENCY, fail_every=FAIL_EVERY)
    with naive, timed() as elapsed:
        _naive(naive.base_url, sample)
    return elapsed() * len(_ips()) / BASELINE_SAMPLE


def run() -> list[Row]:
    setup_django()
    _configure()
    ordered, shuffled = _measure(shuffled=False), _measure(shuffled=True)
    naive = _baseline()
    hosts, requests = ordered["hosts"], ordered["requests"]
    print(
        f"{hosts} hosts, {NETWORKS} networks: {ordered['seconds']:.1f}s in address order, "
        f"{shuffled['seconds']:.1f}s shuffled; {requests} / {shuffled['requests']} RDAP "
        f"requests ({requests / hosts:.3f} per host); naive per-host lookup ~{naive:.0f}s "
        f"(scaled from {BASELINE_SAMPLE} hosts)"
    )
    return [
        Row(
            "RDAP requests, 20k hosts / 800 networks",
            "<= 820",
            f"{requests} (shuffled {shuffled['requests']})",
            str(hosts),
            f"{hosts / requests:.0f}x fewer",
            max(requests, shuffled["requests"]) <= 820,
        ),
        Row(
            "duplicate in-flight queries per network",
            "0",
            f"{ordered['duplicates']} (shuffled {shuffled['duplicates']})",
            ok=ordered["duplicates"] == shuffled["duplicates"] == 0,
        ),
        Row("RDAP requests per host", "", f"{requests / hosts:.3f}", "1.000"),
        Row(
            "contacts for 20k hosts (50 ms, 429 every 100th)",
            "",
            f"{ordered['seconds']:.1f} s (shuffled {shuffled['seconds']:.1f} s)",
            f"{naive:.0f} s (scaled)",
            f"{naive / ordered['seconds']:.1f}x",
            ordered["done"] == shuffled["done"] == hosts,
        ),
    ]


if __name__ == "__main__":
    print_table(run())
