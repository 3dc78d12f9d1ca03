"""Outreach's relay probe against nmap's smtp-open-relay, on the same lab hosts, in the same run.

Two scenarios (30% open relays, the rest closed): 400 hosts at 100 ms a
reply, and 1,000 hosts at 20 ms a reply. For each one, on the same hosts:

- nmap, the Debian package: ``nmap -n -Pn -sT -p25 --script smtp-open-relay
  --max-parallelism 200`` (the script runs only on port 25, so the lab hosts
  listen on 127.x.y.z:25; binding port 25 needs root);
- ``verify_relays --target …`` at the same parallelism (``--concurrency 200``);
- ``verify_relays --target …`` at its default concurrency;
- ``verify_relays --target …`` at 200 in lock-step (``PROBE_PIPELINING=0``),
  to show what PIPELINING alone brings.

Each run reports its wall time, CPU time (the tool's process and children,
start-up included) per host, the lab's own CPU time (so a reader can see
which side was the bound), the round trips per closed host as the lab
counted them, and how many verdicts match the lab's truth.

The lab runs in ``LAB_PROCESSES`` processes, with its hosts spread over 16
/16s as real relays are spread over many networks (Outreach caps hosts of an
unknown ASN per /16). Outreach runs with the global rate cap off
(``PROBE_RATE=0``): it is politeness towards real networks, and here it would
only measure itself; nmap has no such cap either.

``BENCH_QUICK=1`` (``python -m bench --quick``) runs 100 and 250 hosts.
Run alone with ``python -m bench.probe_vs_nmap_bench``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Row, print_table

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SCENARIOS = [(100, 0.1), (250, 0.02)] if QUICK else [(400, 0.1), (1000, 0.02)]
# Then the same lab with each line of a multi-line reply in a segment of its
# own (``split_replies``): only the verdicts are compared there.
SPLIT = (100, 0.1)
OPEN_SHARE = 0.3
PARALLELISM = 200
LAB_NETWORK = 200  # 127.200.0.0 to 127.215.255.255
LAB_NETWORKS = 16
LAB_PROCESSES = 2
NMAP = ["nmap", "-n", "-Pn", "-sT", "-p25", "--script", "smtp-open-relay"]
NMAP += ["--max-parallelism", str(PARALLELISM), "-oX", "-"]
TRUTH = {"open": True, "closed": False}


@dataclass
class Run:
    tool: str
    hosts: int
    wall: float
    cpu: float
    lab_cpu: float
    trips_closed: float
    right: int
    wrong: list[str] = field(default_factory=list)

    @property
    def ms_per_host(self) -> float:
        return self.wall / self.hosts * 1000

    @property
    def cpu_ms_per_host(self) -> float:
        return self.cpu / self.hosts * 1000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command to the end: wall seconds, CPU seconds, stdout."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr[-3000:])
        raise RuntimeError(f"{args[0]} {args[1]} exited {done.returncode}")
    return wall, _children_cpu() - cpu, done.stdout


def nmap_verdicts(xml: str) -> dict[str, tuple[bool, str]]:
    """Target → (nmap says open relay, the script's output)."""
    found: dict[str, tuple[bool, str]] = {}
    for host in ET.fromstring(xml).iter("host"):
        address = host.find("address")
        script = host.find(".//script[@id='smtp-open-relay']")
        output = script.get("output", "") if script is not None else "(no script output)"
        if address is not None:
            found[address.get("addr", "")] = ("Server is an open relay" in output, output.strip())
    return found


def outreach_verdicts(stdout: str) -> dict[str, tuple[bool, str]]:
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {r["ip"]: (r["verdict"] == "open_relay", r["verdict"]) for r in rows}


def outreach_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    # As deployed: compiled modules are cached (this sandbox turns that off).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # The embedded default (SQLite, no broker): --target writes nothing.
    env.update(PROBE_ALLOWED_NETWORKS="127.0.0.0/8", PROBE_RATE="0", **extra)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _score(verdicts: dict[str, tuple[bool, str]], hosts: list) -> tuple[int, list[str]]:
    wrong = []
    for host in hosts:
        said, output = verdicts.get(host.ip, (None, "(no verdict)"))
        if said is not TRUTH[host.behaviour]:
            wrong.append(f"{host.ip} ({host.behaviour}): {output}")
    return len(hosts) - len(wrong), wrong


def _trips_closed(rows: list[dict]) -> float:
    closed = [sum(r["round_trips"]) for r in rows if r["behaviour"] == "closed"]
    return statistics.mean(closed) if closed else 0.0


def run_tool(tool: str, args: list[str], env: dict | None, cluster: object, parse: object) -> Run:
    cluster.counters_reset()
    _, lab_cpu = cluster.stats()
    wall, cpu, stdout = _timed(args, env)
    time.sleep(0.3)  # let the lab see the last connections close
    rows, lab_cpu_after = cluster.stats()
    right, wrong = _score(parse(stdout), cluster.hosts)
    hosts = len(cluster.hosts)
    return Run(tool, hosts, wall, cpu, lab_cpu_after - lab_cpu, _trips_closed(rows), right, wrong)


def scenario(hosts: int, latency: float, *, split: bool = False) -> list[Run]:
    from lab.smtp import LabCluster

    behaviours = ["open"] * round(hosts * OPEN_SHARE)
    behaviours += ["closed"] * (hosts - len(behaviours))
    random.Random(19).shuffle(behaviours)
    options = {
        "latency": latency,
        "network": LAB_NETWORK,
        "networks": LAB_NETWORKS,
        "port": 25,
        "pipelining": True,
        "split_replies": split,
    }
    with LabCluster(behaviours, processes=LAB_PROCESSES, **options) as cluster:
        ips = [h.ip for h in cluster.hosts]
        verify = [sys.executable, "manage.py", "verify_relays", "--json", "--target", *ips]
        at = ["--concurrency", str(PARALLELISM)]
        if split:
            return [
                run_tool("nmap", [*NMAP, *ips], None, cluster, nmap_verdicts),
                run_tool("outreach", verify + at, outreach_env(), cluster, outreach_verdicts),
            ]
        runs = [
            run_tool("nmap", [*NMAP, *ips], None, cluster, nmap_verdicts),
            run_tool("outreach", verify + at, outreach_env(), cluster, outreach_verdicts),
            run_tool("outreach-default", verify, outreach_env(), cluster, outreach_verdicts),
            run_tool(
                "outreach-lockstep",
                verify + at,
                outreach_env(PROBE_PIPELINING="0"),
                cluster,
                outreach_verdicts,
            ),
        ]
    return runs


def startup_seconds() -> float:
    """verify_relays from launch to exit, probing one closed port: the best of three."""
    args = [sys.executable, "manage.py", "verify_relays", "--target", "127.0.0.1:9", "--json"]
    return min(_timed(args, outreach_env())[0] for _ in range(3))


def _label(hosts: int, latency: float) -> str:
    return f"{hosts:,} hosts, {latency * 1000:.0f} ms/reply"


def rows_for(hosts: int, latency: float, runs: list[Run]) -> list[Row]:
    nmap, same, default, lockstep = runs
    label = _label(hosts, latency)
    return [
        Row(
            f"vs nmap: {label}, both at {PARALLELISM} in parallel",
            ">= 2x nmap",
            f"{same.wall:.1f} s ({same.ms_per_host:.1f} ms/host)",
            f"nmap {nmap.wall:.1f} s ({nmap.ms_per_host:.1f} ms/host)",
            f"{nmap.wall / same.wall:.1f}x",
            ok=nmap.wall / same.wall >= 2,
        ),
        Row(
            f"vs nmap: {label}, Outreach at its default concurrency",
            ">= 4x nmap",
            f"{default.wall:.1f} s ({default.ms_per_host:.1f} ms/host)",
            f"nmap {nmap.wall:.1f} s",
            f"{nmap.wall / default.wall:.1f}x",
            ok=nmap.wall / default.wall >= 4,
        ),
        Row(
            f"vs nmap: {label}, round trips per closed host",
            "<= 20 (PIPELINING)",
            f"{same.trips_closed:.1f}",
            f"nmap {nmap.trips_closed:.1f}, lock-step {lockstep.trips_closed:.1f}",
            ok=same.trips_closed <= 20,
        ),
        Row(
            f"vs nmap: {label}, right verdicts",
            "100%",
            f"{same.right}/{hosts}, default {default.right}/{hosts}",
            f"nmap {nmap.right}/{hosts}",
            ok=same.right == default.right == lockstep.right == hosts,
        ),
        Row(
            f"vs nmap: {label}, CPU per host (lab CPU)",
            "",
            f"{same.cpu_ms_per_host:.1f} ms ({same.lab_cpu:.1f} s)",
            f"nmap {nmap.cpu_ms_per_host:.1f} ms ({nmap.lab_cpu:.1f} s)",
        ),
    ]


def split_rows(runs: list[Run]) -> list[Row]:
    nmap, outreach = runs
    label = f"{_label(*SPLIT)}, reply lines in separate segments"
    return [
        Row(
            f"vs nmap: {label}, right verdicts",
            "100%",
            f"{outreach.right}/{outreach.hosts}",
            f"nmap {nmap.right}/{nmap.hosts}",
            ok=outreach.right == outreach.hosts,
        )
    ]


def markdown(results: list[tuple[int, float, list[Run]]]) -> str:
    """The README's table: one line per tool and scenario."""
    lines = [
        "| lab | tool | wall | wall/host | CPU/host | lab CPU | round trips/closed host | right |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for hosts, latency, runs in results:
        for r in runs:
            lines.append(
                f"| {_label(hosts, latency)} | {r.tool} | {r.wall:.1f} s | {r.ms_per_host:.1f} ms "
                f"| {r.cpu_ms_per_host:.1f} ms | {r.lab_cpu:.1f} s | {r.trips_closed:.1f} "
                f"| {r.right}/{r.hosts} |"
            )
    return "\n".join(lines)


def run() -> list[Row]:
    if shutil.which("nmap") is None:
        return [Row("vs nmap: nmap is not installed (apt-get install nmap)", "", "", ok=False)]
    load = [os.getloadavg()[0]]
    results = [(n, latency, scenario(n, latency)) for n, latency in SCENARIOS]
    split = scenario(*SPLIT, split=True)
    start = startup_seconds()
    load.append(os.getloadavg()[0])
    rows = [r for n, latency, runs in results for r in rows_for(n, latency, runs)]
    rows += split_rows(split)
    rows.append(
        Row("verify_relays start-up (one closed port)", "< 1 s", f"{start:.2f} s", ok=start < 1)
    )
    # Every figure above is a wall time on a machine shared with whatever else runs.
    rows.append(Row("vs nmap: load average at start, at end", "", f"{load[0]:.1f}, {load[1]:.1f}"))
    # On stderr: ``make bench`` keeps only the rows from a benchmark's stdout.
    print(markdown(results), file=sys.stderr, flush=True)
    print(markdown([(*SPLIT, split)]).replace("ms/reply", "ms/reply, split"), file=sys.stderr)
    for hosts, latency, runs in [*results, (*SPLIT, split)]:
        for r in runs:
            for line in r.wrong[:3]:
                print(f"{_label(hosts, latency)} {r.tool} wrong: {line}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    print_table(run())
