"""A synthetic registry world: RPSL dumps, RDAP answers and a DNS zone with one truth.

``world_build(networks=50_000)`` spreads /24 assignments over the five
registries (35% RIPE, 30% ARIN, 25% APNIC, 7% LACNIC, 3% AFRINIC), sixteen
to a /20 allocation that the registry maintains and an LIR holds. Each
assignment's abuse contact is, by design:

- its own role (APNIC: its IRT), about half of them;
- its organisation's abuse-c;
- nothing, or a dummified placeholder: it inherits the LIR's;
- ``stale``: assigned after the dump was cut, so only RDAP knows it.

``conflicting`` networks have an outdated address in the DNS zone (a
dispute; the registry's data is the truth). The addresses are real public
ranges of each registry, so the shipped bootstrap files route them; they
are only ever served by the loopback simulators, never contacted.
"""

from __future__ import annotations

import gzip
import ipaddress
import random
from dataclasses import dataclass, field
from pathlib import Path

SHARES = {"ripe": 0.35, "arin": 0.30, "apnic": 0.25, "lacnic": 0.07, "afrinic": 0.03}
FIRST_OCTETS = {
    "ripe": [77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95],
    "arin": [63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76],
    "apnic": [110, 111, 112, 113, 114, 115, 116, 117, 118, 119],
    "lacnic": [177, 179, 181, 186, 187, 189, 190, 191],
    "afrinic": [41, 102, 105, 196, 197],
}
REGISTRY_MNT = {
    "ripe": "RIPE-NCC-HM-MNT",
    "apnic": "APNIC-HM",
    "afrinic": "AFRINIC-HM-MNT",
    "lacnic": "LACNIC-HM-MNT",
    "arin": "ARIN-HM-MNT",
}
PLACEHOLDER = {
    "ripe": "unread@ripe.net",
    "apnic": "noreply@apnic.net",
    "afrinic": "unread@afrinic.net",
    "lacnic": "unread@lacnic.net",
    "arin": "unread@arin.net",
}
PER_ALLOCATION = 16
STALE = 0.02
CONFLICTING = 0.002


@dataclass
class Net:
    index: int
    registry: str
    cidr: str
    kind: str  # own, org, inherit, placeholder
    email: str  # the truth
    lir: int
    stale: bool = False
    conflicting: bool = False


@dataclass
class World:
    nets: list[Net] = field(default_factory=list)
    by_prefix: dict[str, Net] = field(default_factory=dict)

    def truth(self, ip: str) -> Net | None:
        prefix = str(ipaddress.ip_network(f"{ip}/24", strict=False))
        return self.by_prefix.get(prefix)


def world_build(*, networks: int = 50_000, seed: int = 18) -> World:
    rng = random.Random(seed)
    world = World()
    for registry, share in SHARES.items():
        for i in range(max(1, round(networks * share))):
            world.nets.append(_net(registry, i, rng))
    world.by_prefix = {net.cidr: net for net in world.nets}
    return world


def _net(registry: str, i: int, rng: random.Random) -> Net:
    octets = FIRST_OCTETS[registry]
    first = octets[(i // 65536) % len(octets)]
    cidr = f"{first}.{(i // 256) % 256}.{i % 256}.0/24"
    lir = i // PER_ALLOCATION
    roll = rng.random()
    kind = "own" if roll < 0.5 else "org" if roll < 0.7 else "inherit" if roll < 0.95 else "dummy"
    email = {
        "own": f"abuse@cust-{i}.{registry}.example",
        "org": f"abuse@org-{i}.{registry}.example",
    }.get(kind, f"abuse@lir-{lir}.{registry}.example")
    stale = rng.random() < STALE
    if stale:
        kind, email = "own", f"abuse@new-{i}.{registry}.example"
    return Net(i, registry, cidr, kind, email, lir, stale, rng.random() < CONFLICTING)


# --- RPSL dumps ------------------------------------------------------------------


def dumps_write(world: World, directory: Path) -> dict[str, Path]:
    """One gzipped RPSL dump per registry; returns {registry: path}."""
    paths = {}
    for registry in SHARES:
        path = directory / f"{registry}.db.gz"
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
            for text in _registry_objects(world, registry):
                out.write(text)
        paths[registry] = path
    return paths


def _registry_objects(world: World, registry: str):  # noqa: ANN202 (a generator of text)
    nets = [n for n in world.nets if n.registry == registry]
    lirs = sorted({n.lir for n in nets})
    for lir in lirs:
        yield _allocation(registry, lir, nets[lir * PER_ALLOCATION].cidr)
    for net in nets:
        if not net.stale:
            yield _assignment(registry, net)


def _allocation(registry: str, lir: int, first_cidr: str) -> str:
    start = ipaddress.ip_network(first_cidr).network_address
    end = start + PER_ALLOCATION * 256 - 1
    return (
        f"inetnum: {start} - {end}\nnetname: LIR-{lir}\ncountry: NL\norg: ORG-LIR{lir}\n"
        f"status: ALLOCATED PA\nmnt-by: {REGISTRY_MNT[registry]}\nmnt-by: LIR{lir}-MNT\n"
        f"source: {registry.upper()}\n\n"
        f"organisation: ORG-LIR{lir}\norg-name: LIR {lir}\nabuse-c: LIR{lir}-AB\n"
        f"source: {registry.upper()}\n\n"
        f"role: LIR {lir} abuse\nnic-hdl: LIR{lir}-AB\n"
        f"abuse-mailbox: abuse@lir-{lir}.{registry}.example\nsource: {registry.upper()}\n\n"
    )


def _assignment(registry: str, net: Net) -> str:
    network = ipaddress.ip_network(net.cidr)
    head = (
        f"inetnum: {network.network_address} - {network.broadcast_address}\n"
        f"netname: NET-{net.index}\ncountry: NL\nstatus: ASSIGNED PA\nmnt-by: LIR{net.lir}-MNT\n"
    )
    tail = f"source: {registry.upper()}\n\n"
    if net.kind == "own" and registry == "apnic":
        return (
            head
            + f"mnt-irt: IRT-C{net.index}\n"
            + tail
            + f"irt: IRT-C{net.index}\nabuse-mailbox: {net.email}\n"
            + tail
        )
    if net.kind == "own":
        return (
            head + f"abuse-c: C{net.index}-AB\n" + tail + _role(f"C{net.index}-AB", net.email, tail)
        )
    if net.kind == "org":
        return (
            head
            + f"org: ORG-C{net.index}\n"
            + tail
            + f"organisation: ORG-C{net.index}\nabuse-c: O{net.index}-AB\n"
            + tail
            + _role(f"O{net.index}-AB", net.email, tail)
        )
    if net.kind == "dummy":
        dummy = PLACEHOLDER[registry]
        return head + f"abuse-c: D{net.index}-AB\n" + tail + _role(f"D{net.index}-AB", dummy, tail)
    return head + tail


def _role(handle: str, mailbox: str, tail: str) -> str:
    return f"role: {handle}\nnic-hdl: {handle}\nabuse-mailbox: {mailbox}\n" + tail


def ripe_size_dump_write(path: Path, *, objects: int) -> None:
    """A RIPE-shaped dump of ``objects`` inetnums with roles, for the import bench."""
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for i in range(objects):
            a, b, c = 80 + (i >> 16) % 16, (i >> 8) & 255, i & 255
            out.write(
                f"inetnum:        {a}.{b}.{c}.0 - {a}.{b}.{c}.255\nnetname:        NET-{i}\n"
                f"descr:          Customer {i}\ncountry:        DE\nadmin-c:        DUMY-RIPE\n"
                f"tech-c:         DUMY-RIPE\nabuse-c:        R{i % 50000}-AB\n"
                f"status:         ASSIGNED PA\nmnt-by:         LIR{i % 9000}-MNT\n"
                "created:        2020-01-01T00:00:00Z\nlast-modified:  2024-01-01T00:00:00Z\n"
                "source:         RIPE\n\n"
            )
        for r in range(min(objects, 50000)):
            out.write(f"role: R{r}\nnic-hdl: R{r}-AB\nabuse-mailbox: abuse@r{r}.example\n\n")


# --- RDAP answers and the DNS zone ----------------------------------------------------


PORT43 = {r: f"whois.{r}.net" for r in SHARES}


def rdap_answer(world: World, ip: str) -> dict | None:
    """The RDAP answer for ``ip``: the assignment, its truth as the abuse entity."""
    net = world.truth(ip)
    if net is None:
        return None
    network = ipaddress.ip_network(net.cidr)
    card = ["vcard", [["version", {}, "text", "4.0"], ["email", {}, "text", net.email]]]
    return {
        "objectClassName": "ip network",
        "handle": f"NET-{net.index}",
        "ipVersion": "v4",
        "name": f"NET-{net.index}",
        "country": "NL",
        "port43": PORT43[net.registry],
        "startAddress": str(network.network_address),
        "endAddress": str(network.broadcast_address),
        "entities": [{"handle": f"AB-{net.index}", "roles": ["abuse"], "vcardArray": card}],
    }


def dns_answer(world: World, ip: str) -> list[str] | None:
    """The zone's TXT addresses: the truth, an outdated one when conflicting; no LACNIC."""
    net = world.truth(ip)
    if net is None or net.registry == "lacnic":
        return None
    return [f"abuse@old-{net.index}.{net.registry}.example"] if net.conflicting else [net.email]
