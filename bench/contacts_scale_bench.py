"""Contacts for a million hosts in 50,000 networks: bulk data, DNS, then RDAP.

The synthetic world (lab/rpsl_world.py) is written as five gzipped RPSL
dumps, imported with the product's importer, and served with the same truth
by the loopback RDAP simulator (enforcing each registry's published limit)
and an Abusix-format DNS zone. Hosts are resolved in-process as
``lookup_contacts`` does (batches of 500, a Pacer on the real default
limits). Separately, a RIPE-shaped dump of 4 million inetnums (times the
scale) is imported for time and memory.

``--scale`` (or BENCH_CONTACTS_SCALE) shrinks everything: at a reduced
scale the full-scale figures are EXTRAPOLATED (labelled so): the CPU part
linearly, the RDAP part from the full-scale count of networks each
registry must be asked for, at its local rate. The baseline is the RDAP-only
path's projected time from the same limits (one request per network).

    CONTACTS_BENCH_DATABASE_URL=... python -m bench.contacts_scale_bench --scale 0.01
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import Row, peak_rss_mb, print_table, setup_django

FULL_NETWORKS = 50_000
FULL_HOSTS = 1_000_000
FULL_RIPE_OBJECTS = 4_000_000
BATCH = 500
# The limits each registry publishes (requests, seconds), enforced by the simulator.
PUBLISHED = {"lacnic": (10, 60.0)}


def _scale() -> float:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=None)
    args, _rest = parser.parse_known_args()
    return args.scale or float(os.environ.get("BENCH_CONTACTS_SCALE", "0.01"))


def _ripe_import(scale: float, directory: Path) -> tuple[float, float, int]:
    from lab.rpsl_world import ripe_size_dump_write
    from probes.registry_dump import registry_dump_import

    objects = max(1000, round(FULL_RIPE_OBJECTS * scale))
    path = directory / "ripe.db.gz"  # inetnums and roles in one file
    ripe_size_dump_write(path, objects=objects)
    begun = time.perf_counter()
    registry_dump_import(paths=[str(path)], registry="ripe", serial="bench-size")
    return time.perf_counter() - begun, peak_rss_mb(), objects


def _hosts(world: object, per_network: int) -> list[str]:
    import ipaddress

    ips = []
    for net in world.nets:  # type: ignore[attr-defined]
        base = ipaddress.ip_network(net.cidr).network_address
        ips += [str(base + 1 + k) for k in range(per_network)]
    return ips


def _resolve(host_ids: list[int]) -> tuple[float, object]:
    from probes.contacts import contacts_lookup
    from probes.pacing import Pacer

    pacer = Pacer()
    begun = time.perf_counter()
    waiting = 0
    for start in range(0, len(host_ids), BATCH):
        rows = contacts_lookup(host_ids=host_ids[start : start + BATCH], pacer=pacer)
        waiting += sum(1 for r in rows if r.get("retry"))
    return time.perf_counter() - begun, (pacer, waiting)


def _agreement(world: object) -> tuple[int, int]:
    from outreach.models import Host

    right = total = 0
    rows = Host.objects.select_related("contact").values_list("ip", "contact__email")
    for ip, email in rows.iterator(chunk_size=5000):
        net = world.truth(ip)  # type: ignore[attr-defined]
        if net is None:
            continue
        total += 1
        right += email == net.email
    return right, total


def _rdap_only_projection(world: object) -> dict[str, float]:
    """Hours per registry to ask RDAP once per network, at each local default rate."""
    from django.conf import settings

    counts = Counter(n.registry for n in world.nets)  # type: ignore[attr-defined]
    scale_up = FULL_NETWORKS / max(1, sum(counts.values()))
    return {
        r: counts[r] * scale_up / settings.RDAP_RATE_LIMITS[r][1] / 3600 for r in sorted(counts)
    }


def run() -> list[Row]:
    scale = _scale()
    # Its own database: the bench empties the hosts, networks and contacts.
    setup_django(
        os.environ.get(
            "CONTACTS_BENCH_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/outreach_contacts_bench",
        )
    )
    from django.conf import settings

    from lab.abusix_dns import AbusixDnsServer
    from lab.rdap import RdapSimulator
    from lab.rpsl_world import dns_answer, dumps_write, rdap_answer, world_build
    from outreach.lib import bucket
    from outreach.models import Contact, Host, Network
    from probes import contacts
    from probes.models import ContactDispute, RegistryDataset
    from probes.registry_dump import registry_dump_import

    for model in (Host, Network, Contact, ContactDispute, RegistryDataset):
        model.objects.all().delete()
    bucket.buckets_reset()
    directory = Path(tempfile.mkdtemp(prefix="contacts-bench-"))
    ripe_seconds, ripe_rss, ripe_objects = _ripe_import(scale, directory)
    RegistryDataset.objects.all().delete()

    networks = max(50, round(FULL_NETWORKS * scale))
    per_network = FULL_HOSTS // FULL_NETWORKS
    world = world_build(networks=networks)
    paths = dumps_write(world, directory)
    begun = time.perf_counter()
    for registry, path in paths.items():
        registry_dump_import(paths=[str(path)], registry=registry, serial="bench")
    import_seconds = time.perf_counter() - begun

    ips = _hosts(world, per_network)
    Host.objects.bulk_create([Host(ip=ip) for ip in ips], batch_size=5000)
    host_ids = list(Host.objects.order_by("ip").values_list("id", flat=True))
    contacts._DNS_SOURCES.clear()
    with (
        RdapSimulator(generate=lambda ip: rdap_answer(world, ip), limits=PUBLISHED) as sim,
        AbusixDnsServer(lambda ip: dns_answer(world, ip)) as dns,
    ):
        settings.RDAP_BASE_URL = sim.base_url
        settings.CONTACT_DNS_RESOLVER = dns.address
        settings.RDAP_NATIONAL_CONTACTS = {}
        resolve_seconds, (pacer, waiting) = _resolve(host_ids)
    right, total = _agreement(world)
    over = sum(sim.over_limit.values())
    waited = pacer.waited  # type: ignore[attr-defined]
    sent = dict(pacer.sent)  # type: ignore[attr-defined]

    # Extrapolation to full scale: CPU time (everything but the pacer's waits)
    # grows with hosts; the RDAP waits with the networks RDAP must be asked for.
    cpu = import_seconds + resolve_seconds - waited
    rdap_full = {
        r: n / scale / settings.RDAP_RATE_LIMITS[r][1]
        for r, n in sent.items()
        if r in settings.RDAP_RATE_LIMITS
    }
    full_seconds = cpu / scale + max(rdap_full.values(), default=0.0)
    projection = _rdap_only_projection(world)
    rdap_only = max(projection.values())
    old_ripe_days = projection["ripe"] * settings.RDAP_RATE_LIMITS["ripe"][1] / (700 / 86400) / 24
    label = "" if scale >= 1 else f" (EXTRAPOLATED from scale {scale:g})"
    return [
        Row(
            f"contacts for {len(ips):,} hosts in {networks:,} networks (measured)",
            "",
            f"{import_seconds + resolve_seconds:.0f} s (dumps {import_seconds:.0f} s, "
            f"lookups {resolve_seconds:.0f} s, of which {waited:.0f} s pacing)",
        ),
        Row(
            f"contacts for 1,000,000 hosts in 50,000 networks{label}",
            "< 1 h",
            f"{full_seconds / 60:.0f} min",
            f"RDAP only: {rdap_only:.1f} h (LACNIC 6/min); "
            f"{old_ripe_days:.0f} days at the old RIPE 700/day",
            f"{rdap_only * 3600 / full_seconds:.0f}x",
            full_seconds < 3600,
        ),
        Row("requests over any registry's limit", "0", str(over), ok=over == 0),
        Row(
            "hosts whose contact agrees with the truth",
            ">= 99.5%",
            f"{100 * right / max(1, total):.2f}% ({right:,}/{total:,}; {waiting} waiting)",
            ok=right / max(1, total) >= 0.995,
        ),
        Row(
            f"RIPE-size dump import: {ripe_objects:,} inetnums (measured)",
            "",
            f"{ripe_seconds:.1f} s, peak {ripe_rss:.0f} MB",
        ),
        Row(
            f"RIPE-size dump import: 4,000,000 inetnums{label}",
            "< 10 min, < 1 GB",
            f"{ripe_seconds / (ripe_objects / FULL_RIPE_OBJECTS) / 60:.1f} min, "
            f"peak {ripe_rss:.0f} MB (memory bound by contact objects, not networks)",
            ok=ripe_seconds / (ripe_objects / FULL_RIPE_OBJECTS) < 600 and ripe_rss < 1024,
        ),
        Row("RDAP requests sent, by registry", "", str(sent)),
        Row("DNS queries", "", f"{dns.queries:,}"),
    ]


if __name__ == "__main__":
    print_table(run())
