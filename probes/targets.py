"""Which addresses the probe may touch, and where it connects: pure, no ORM.

The address table itself lives in ``probes.addresses`` (shared with the
importer); this module applies it to probe targets, parses ``--target``
arguments and reads the lab map.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from probes.addresses import parse_networks, refusal_reason
from probes.smtp import SKIPPED, ProbeResult, Target

LAB_MAP_MAX_BYTES = 1_000_000


class TargetError(ValueError):
    """A target or lab map that cannot be understood."""


def target_parse(text: str, default_port: int) -> tuple[str, int]:
    """'192.0.2.1', '192.0.2.1:2525', '2001:db8::1' or '[2001:db8::1]:25'.

    Only address literals: resolving a name would send a DNS query we did not
    mean to send, and the safety rules judge addresses, not names.
    """
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise TargetError(f"{text!r}: write IPv6 targets as [2001:db8::1]:25")
        port = _port(rest[1:], text) if rest else default_port
    elif text.count(":") == 1:
        host, _, raw_port = text.partition(":")
        port = _port(raw_port, text)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise TargetError(f"{text!r} is not an IP address (names are not resolved)") from None


def _port(raw: str, text: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise TargetError(f"{text!r}: the port must be a number from 1 to 65535")
    return int(raw)


def lab_map_load(path: str | Path) -> dict[str, tuple[str, int]]:
    """Read a LAB_HOST_MAP file: target IP → loopback endpoint.

    Every endpoint must be on loopback, so lab mode can only ever redirect a
    probe into this machine, never out of it.
    """
    path = Path(path)
    if path.stat().st_size > LAB_MAP_MAX_BYTES:
        raise TargetError(f"{path}: a lab map larger than {LAB_MAP_MAX_BYTES} bytes")
    try:
        raw = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TargetError(f"{path}: not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise TargetError(f"{path}: expected an object of target → endpoint")
    return {_lab_key(k, path): _lab_endpoint(v, path) for k, v in raw.items()}


def _lab_key(key: object, path: Path) -> str:
    try:
        return str(ipaddress.ip_address(str(key)))
    except ValueError:
        raise TargetError(f"{path}: {key!r} is not an IP address") from None


def _lab_endpoint(value: object, path: Path) -> tuple[str, int]:
    host, port = target_parse(str(value), 0)
    if not port or not ipaddress.ip_address(host).is_loopback:
        raise TargetError(f"{path}: {value!r} must be a loopback address with a port")
    return host, port


class Guard:
    """Decides, target by target, whether the probe may connect and where."""

    def __init__(
        self,
        *,
        allowed: list[str],
        never_contact: list[str],
        lab_map: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        self.allowed = parse_networks(allowed)
        self.never_contact = parse_networks(never_contact)
        self.lab_map = lab_map or {}

    def refusal(self, ip: str) -> str | None:
        """Why this address must not be probed, or None.

        A lab-mapped target is never connected to (its lab endpoint on
        loopback is), so only the never-contact list applies to it.
        """
        if self.lab_map and ip not in self.lab_map and not ipaddress.ip_address(ip).is_loopback:
            # Lab mode never leaves this machine: a target the map does not send
            # to loopback is refused even inside PROBE_ALLOWED_NETWORKS.
            return "not_in_lab"
        allowed = self.allowed
        if ip in self.lab_map:
            allowed = (*allowed, *parse_networks([f"{ip}/128" if ":" in ip else f"{ip}/32"]))
        return refusal_reason(ip, never_contact=self.never_contact, allowed=allowed)

    def target(
        self, ip: str, port: int, *, asn: int | None = None, host_id: int | None = None
    ) -> Target | ProbeResult:
        """A Target to probe, or a 'skipped' result saying why not."""
        reason = self.refusal(ip)
        if reason:
            return ProbeResult(ip=ip, port=port, verdict=SKIPPED, error=reason, host_id=host_id)
        connect_host, connect_port = self.lab_map.get(ip, ("", 0))
        return Target(
            ip=ip,
            port=port,
            connect_host=connect_host,
            connect_port=connect_port,
            asn=asn,
            host_id=host_id,
        )
