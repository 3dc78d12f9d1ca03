"""Relay probe throughput: 1,000 lab hosts through ``hosts_verify``, one and two workers.

The lab (30% open, 60% closed, 10% hostile: tarpit, garbage, drop, huge)
runs in a process of its own with 20 ms added to every round trip, so the worker
figures measure the probe and its bulk writes, not the simulated internet.
Closed hosts get the full battery of 16 tests. The sequential baseline probes
a sample with the same mix one host at a time (a full run would take about
ten minutes) and is reported in hosts/s.

Run alone with ``python -m bench.probe_bench``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
from collections import Counter

from bench.common import Row, peak_rss_mb, print_table, setup_django

HOSTS = 1000
LATENCY = 0.02
MIX = {"open": 300, "closed": 600, "tarpit": 25, "garbage": 25, "drop": 25, "huge": 25}
EXPECTED = {
    "open": "open_relay",
    "closed": "not_relay",
    "tarpit": "timeout",
    "garbage": "no_smtp",
    "drop": "protocol_error",
    "huge": "protocol_error",
}
SAMPLE = {"open": 9, "closed": 18, "tarpit": 1, "garbage": 1, "drop": 1}
LAB_NETWORK = 90
CONCURRENCY = 200  # PROBE_CONCURRENCY was 200 before issue 19 (now 1,000: the "wide" round)
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/outreach_bench_probe"
)
# The bench talks to its own lab on loopback. Tarpits end at a 2 s read
# timeout so they do not dominate a short run (production waits 10 s), and
# the 15 s deadline keeps verdicts right on a busy machine. Throughput is
# measured at the default concurrency, so a run is bound by probe slots, as
# in a long production run, rather than by the slowest single host.
BENCH_ENV = {
    "PROBE_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PROBE_DEADLINE": "15",
    "PROBE_READ_TIMEOUT": "2",
    # The global rate cap is politeness towards real networks; here it would
    # only measure itself.
    "PROBE_RATE": "0",
}


def _lab_process(behaviours: list[str], conn: mp.connection.Connection) -> None:
    from lab.smtp import Lab

    lab = Lab(latency=LATENCY, network=LAB_NETWORK, tarpit_seconds=60).start()
    hosts = lab.hosts_add(behaviours)
    conn.send([(h.ip, h.port, h.behaviour) for h in hosts])
    conn.recv()  # wait until the bench is done
    conn.send((lab.data_attempts(), time.process_time()))
    lab.stop()


def _worker(ids: list[int], port: int, concurrency: int, queue: mp.Queue) -> None:
    from probes.verify import hosts_verify

    cpu = time.process_time()
    results = hosts_verify(host_ids=ids, port=port, concurrency=concurrency)
    cpu = time.process_time() - cpu
    queue.put((cpu, {r.ip: r.verdict for r in results}, peak_rss_mb()))


def _run_workers(
    chunks: list[list[int]], port: int, concurrency: int
) -> tuple[float, dict, float, float]:
    """Probe each chunk in its own forked worker process, all at once."""
    from django.db import connections

    connections.close_all()  # a forked child must open its own connection
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(c, port, concurrency, queue)) for c in chunks]
    for p in procs:
        p.start()
    outputs = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    verdicts = {ip: v for _, found, _ in outputs for ip, v in found.items()}
    cpu = sum(c for c, _, _ in outputs)
    return wall, verdicts, max(rss for _, _, rss in outputs), cpu


def _hosts_reset(lab_hosts: list[tuple[str, int, str]]) -> dict[str, int]:
    from outreach.models import Host
    from probes.models import Probe

    ips = [ip for ip, _, _ in lab_hosts]
    Probe.objects.filter(host__ip__in=ips).delete()
    Host.objects.filter(ip__in=ips).delete()
    Host.objects.bulk_create([Host(ip=ip) for ip in ips])
    return dict(Host.objects.filter(ip__in=ips).values_list("ip", "id"))


def _sample(lab_hosts: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    picked: list[tuple[str, int, str]] = []
    for behaviour, count in SAMPLE.items():
        picked += [h for h in lab_hosts if h[2] == behaviour][:count]
    return picked


def _correct(verdicts: dict[str, str], lab_hosts: list[tuple[str, int, str]]) -> float:
    wrong = Counter(
        (b, verdicts.get(ip)) for ip, _, b in lab_hosts if verdicts.get(ip) != EXPECTED[b]
    )
    if wrong:
        print(f"wrong verdicts (behaviour, verdict): {dict(wrong)}", flush=True)
    return 1 - wrong.total() / len(lab_hosts)


def run() -> list[Row]:
    behaviours = [b for b, n in MIX.items() for _ in range(n)]
    random.Random(4).shuffle(behaviours)
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    lab = ctx.Process(target=_lab_process, args=(behaviours, there), daemon=True)
    lab.start()
    lab_hosts = here.recv()
    port = lab_hosts[0][1]
    os.environ.update(BENCH_ENV)
    setup_django(DATABASE_URL)
    try:
        rows = _measure(lab_hosts, port)
    finally:
        here.send("done")
        data_attempts, lab_cpu = here.recv()
        lab.join(timeout=30)
    rows.append(
        Row("probe: DATA commands the lab received", "0", str(data_attempts), ok=data_attempts == 0)
    )
    print(f"lab process CPU over all runs: {lab_cpu:.1f} s", flush=True)
    return rows


def _measure(lab_hosts: list[tuple[str, int, str]], port: int) -> list[Row]:
    from probes.verify import hosts_verify

    ids = _hosts_reset(lab_hosts)
    sample = _sample(lab_hosts)
    start = time.perf_counter()
    hosts_verify(host_ids=[ids[ip] for ip, _, _ in sample], port=port, concurrency=1)
    sequential = len(sample) / (time.perf_counter() - start)
    one, correct_one, _, cpu = _round(lab_hosts, port, workers=1, concurrency=CONCURRENCY)
    two, correct_two, _, _ = _round(lab_hosts, port, workers=2, concurrency=CONCURRENCY)
    wide, correct_wide, rss, _ = _round(lab_hosts, port, workers=1, concurrency=1000)
    correct = min(correct_one, correct_two, correct_wide)
    return [
        Row(
            f"probe: 1,000 lab hosts, 1 worker x {CONCURRENCY} (20 ms/reply)",
            ">= 200 hosts/s",
            f"{one:.0f} hosts/s",
            f"{sequential:.1f} hosts/s sequential",
            f"{one / sequential:.0f}x",
            ok=one >= 200,
        ),
        Row(
            f"probe: 1,000 lab hosts, 2 workers x {CONCURRENCY}",
            ">= 1.7x one worker",
            f"{two:.0f} hosts/s",
            f"{one:.0f} hosts/s",
            f"{two / one:.2f}x",
            ok=two / one >= 1.7,
        ),
        Row(
            "probe: peak memory, 1 worker x 1,000 concurrent probes",
            "< 200 MB",
            f"{rss:.0f} MB ({wide:.0f} hosts/s)",
            ok=rss < 200,
        ),
        Row("probe: verdicts correct on the lab", "100%", f"{correct:.1%}", ok=correct == 1),
        # CPU, unlike wall time, says what one worker could do on a quiet core.
        Row(
            "probe: worker CPU for 1,000 hosts (probe + bulk write)",
            "",
            f"{cpu:.2f} s (~{len(lab_hosts) / cpu:.0f} hosts/s per core)",
        ),
    ]


def _round(
    lab_hosts: list[tuple[str, int, str]], port: int, *, workers: int, concurrency: int
) -> tuple[float, float, float, float]:
    """One run over every host: hosts/s, share of right verdicts, peak MB, worker CPU s."""
    ids = _hosts_reset(lab_hosts)
    all_ids = [ids[ip] for ip, _, _ in lab_hosts]
    chunks = [all_ids[i::workers] for i in range(workers)]
    wall, verdicts, rss, cpu = _run_workers(chunks, port, concurrency)
    return len(all_ids) / wall, _correct(verdicts, lab_hosts), rss, cpu


if __name__ == "__main__":
    print_table(run())
