"""Each registry's own rules for a network's abuse mailbox, on RPSL objects.

Pure: objects in, answers out. ``probes.registry_dump`` feeds it the
contact objects (roles, organisations, IRTs) of a dump first, then each
network object, and stores what it says; inheritance from covering blocks
is applied at lookup time (``network_chain_pick``), most specific first.

- RIPE (``AbuseCFinder``): the object's ``abuse-c``, then its organisation's
  ``abuse-c``; if neither, the covering object's, unless the object is
  maintained by the registry itself (then stop). The role's
  ``abuse-mailbox`` is the answer.
- APNIC: ``mnt-irt`` → irt → ``abuse-mailbox``, then ``abuse-c``.
- AFRINIC follows RIPE's model; LACNIC's public dump names ``abuse-c``
  handles without addresses, which are refused with that reason.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from probes.rpsl import RpslObject

REGISTRIES = ("ripe", "apnic", "afrinic", "lacnic", "arin")
NETWORK_KINDS = frozenset({"inetnum", "inet6num"})
CONTACT_KINDS = frozenset({"role", "organisation", "irt", "person"})
# Maintainers of blocks the registry keeps itself (RIPE's "RS maintainers").
REGISTRY_MAINTAINERS = {
    "ripe": frozenset({"RIPE-NCC-HM-MNT", "RIPE-NCC-END-MNT", "RIPE-NCC-LEGACY-MNT"}),
    "apnic": frozenset({"APNIC-HM"}),
    "afrinic": frozenset({"AFRINIC-HM-MNT"}),
    "lacnic": frozenset(),
    "arin": frozenset(),
}
RULE_ABUSE_C = "abuse-c"
RULE_ORG_ABUSE_C = "org-abuse-c"
RULE_IRT = "mnt-irt"
RULE_INHERITED = "covering"


@dataclass
class ContactBook:
    """The contact objects of one dump, by handle (upper case)."""

    mailboxes: dict[str, str] = field(default_factory=dict)  # role/person/irt → mailbox
    org_abuse_c: dict[str, str] = field(default_factory=dict)  # org → abuse-c handle

    def add(self, obj: RpslObject) -> None:
        handle = (obj.first("nic-hdl") if obj.kind in {"role", "person"} else obj.key).upper()
        if obj.kind == "organisation" and obj.first("abuse-c"):
            self.org_abuse_c[handle] = obj.first("abuse-c").upper()
        mailbox = obj.first("abuse-mailbox")
        if mailbox and handle:
            self.mailboxes[handle] = mailbox


@dataclass
class Own:
    """What a network object names itself, before any inheritance."""

    email: str = ""
    rule: str = ""
    refused: str = ""
    registry_block: bool = False


def network_own(
    obj: RpslObject, *, registry: str, book: ContactBook, email_check: Callable[[str], str]
) -> Own:
    """The object's own abuse mailbox by ``registry``'s rule, checked.

    ``email_check`` normalises an address or raises ValueError with the
    reason (placeholders of dummified dumps included).
    """
    maintainers = {m.upper() for m in (*obj.values("mnt-by"), *obj.values("mnt-lower"))}
    own = Own(registry_block=bool(maintainers & REGISTRY_MAINTAINERS[registry]))
    for rule, handle in _handles(obj, registry, book):
        mailbox = book.mailboxes.get(handle, "")
        if not mailbox:
            own.refused = own.refused or f"{rule} {handle[:40]} has no abuse-mailbox in the dump"
            continue
        try:
            own.email, own.rule = email_check(mailbox), rule
            return own
        except ValueError as exc:
            own.refused = f"{rule} {handle[:40]}: {exc}"
    return own


def _handles(obj: RpslObject, registry: str, book: ContactBook) -> Iterable[tuple[str, str]]:
    if registry == "apnic":
        yield from ((RULE_IRT, irt.upper()) for irt in obj.values("mnt-irt"))
    yield from ((RULE_ABUSE_C, h.upper()) for h in obj.values("abuse-c"))
    for org in obj.values("org"):
        handle = book.org_abuse_c.get(org.upper())
        if handle:
            yield RULE_ORG_ABUSE_C, handle


@dataclass(frozen=True)
class Layer:
    """One stored object holding an address (most specific first in a chain)."""

    email: str
    rule: str
    registry_block: bool


def network_chain_pick(layers: list[Layer]) -> tuple[int, str, str] | None:
    """Which layer answers: (index, email, rule), or None.

    The most specific object's own contact wins; without one, the covering
    object's, and so on up, but never above a block the registry maintains.
    """
    for index, layer in enumerate(layers):
        if layer.email:
            return index, layer.email, layer.rule if index == 0 else RULE_INHERITED
        if layer.registry_block:
            return None
    return None


# --- Ranges ------------------------------------------------------------------

_LACNIC_SHORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){0,3})/(\d{1,2})\Z")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def range_networks(key: str) -> list[IPNetwork]:
    """The CIDRs of an inetnum/inet6num key: "a - b", a CIDR, or LACNIC's "24.232/16".

    ValueError names what could not be read.
    """
    text = key.strip()
    if "-" in text:  # IPv6 addresses never hold a dash
        first, _sep, last = (part.strip() for part in text.partition("-"))
        start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
        if start.version != end.version or start > end:
            raise ValueError(f"bad range {text[:60]!r}")
        return list(ipaddress.summarize_address_range(start, end))
    short = _LACNIC_SHORT.match(text)
    if short:
        octets = short.group(1).split(".")
        text = ".".join(octets + ["0"] * (4 - len(octets))) + "/" + short.group(2)
    return [ipaddress.ip_network(text, strict=False)]
