"""Where the probe may connect: targets, the lab map and the safety guard."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from lab.dns import LabDNS
from probes import dns, smtp
from probes.smtp import run_sync
from probes.targets import Guard, TargetError, lab_map_load, target_parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", ("192.0.2.1", 25)),
        ("192.0.2.1:2525", ("192.0.2.1", 2525)),
        ("2001:db8::1", ("2001:db8::1", 25)),
        ("[2001:db8::1]:587", ("2001:db8::1", 587)),
        ("[2001:db8::1]", ("2001:db8::1", 25)),
    ],
)
def test_it_parses_targets(text, expected):
    assert target_parse(text, 25) == expected


@pytest.mark.parametrize(
    "text", ["mail.example.com", "192.0.2.1:0", "192.0.2.1:x", "[2001:db8::1", "[::1]x"]
)
def test_it_refuses_targets_it_cannot_understand(text):
    with pytest.raises(TargetError):
        target_parse(text, 25)


@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "127.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.1.1", "224.0.0.1", "fe80::1"],
)
def test_it_refuses_non_global_addresses(ip):
    guard = Guard(allowed=[], never_contact=[])
    assert guard.refusal(ip) == "non_global"
    assert guard.target(ip, 25).verdict == smtp.SKIPPED


def test_it_allows_only_the_allowed_networks():
    guard = Guard(allowed=["127.0.0.0/8"], never_contact=[])
    assert guard.refusal("127.3.4.5") is None
    assert guard.refusal("10.0.0.1") == "non_global"


def test_it_connects_to_the_lab_endpoint_of_a_mapped_target():
    guard = Guard(allowed=[], never_contact=[], lab_map={"192.0.2.10": ("127.1.0.10", 2525)})
    target = guard.target("192.0.2.10", 25)
    assert target.endpoint == ("127.1.0.10", 2525)
    assert guard.refusal("192.0.2.11") == "not_in_lab"


def test_lab_mode_never_connects_outside_loopback_even_to_allowed_networks():
    guard = Guard(
        allowed=["198.18.0.0/15"], never_contact=[], lab_map={"198.18.1.10": ("127.77.0.1", 2525)}
    )
    assert guard.target("198.18.1.10", 25).endpoint == ("127.77.0.1", 2525)
    assert guard.refusal("198.18.1.11") == "not_in_lab"
    assert guard.target("198.18.1.11", 25).verdict == smtp.SKIPPED
    assert Guard(allowed=["198.18.0.0/15"], never_contact=[]).refusal("198.18.1.11") is None


def test_it_lets_the_never_contact_list_win_over_everything():
    guard = Guard(
        allowed=["127.0.0.0/8"],
        never_contact=["127.9.0.0/16", "192.0.2.0/24"],
        lab_map={"192.0.2.10": ("127.1.0.10", 2525)},
    )
    assert guard.refusal("127.9.1.1") == "never_contact"
    assert guard.refusal("192.0.2.10") == "never_contact"


def test_it_reads_a_lab_map(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"192.0.2.10": "127.1.0.10:2525", "2001:db8::1": "[::1]:2526"}))
    assert lab_map_load(path) == {
        "192.0.2.10": ("127.1.0.10", 2525),
        "2001:db8::1": ("::1", 2526),
    }


@pytest.mark.parametrize(
    "content",
    [
        '{"192.0.2.10": "198.51.100.1:25"}',
        '{"192.0.2.10": "127.0.0.1"}',
        '{"not-an-ip": "127.0.0.1:25"}',
        '["127.0.0.1:25"]',
        "{nope",
    ],
)
def test_it_refuses_a_lab_map_that_leaves_loopback_or_is_malformed(tmp_path, content):
    path = tmp_path / "map.json"
    path.write_text(content)
    with pytest.raises(TargetError):
        lab_map_load(path)


def test_it_builds_dnsbl_names_for_both_families():
    assert dns.dnsbl_query_name("192.0.2.1", "bl.example.") == "1.2.0.192.bl.example"
    name = dns.dnsbl_query_name("2001:db8::1", "bl.example")
    assert name.startswith("1.0.0.0.") and name.endswith(".8.b.d.0.1.0.0.2.bl.example")


def test_it_looks_up_ptr_and_dnsbl_on_a_configured_resolver():
    records = {
        "7.2.0.192.in-addr.arpa": ("PTR", "mx.isp.example."),
        "7.2.0.192.bl.lab.test": ("A", "127.0.0.2"),
    }
    with LabDNS(records) as server:
        resolver = dns.resolver_make(server.address)
        found = run_sync(dns.dns_evidence("192.0.2.7", resolver=resolver, zones=["bl.lab.test"]))
        missing = run_sync(dns.dns_evidence("192.0.2.8", resolver=resolver, zones=["bl.lab.test"]))
    assert found == {"ptr": "mx.isp.example", "dnsbl": ["bl.lab.test"]}
    assert missing == {"ptr": "", "dnsbl": []}


@pytest.fixture
def rbldnsd(tmp_path):
    """Debian's rbldnsd serving bl.lab.test on loopback, as a real DNSBL would."""
    import shutil
    import socket
    import subprocess

    binary = shutil.which("rbldnsd") or "/usr/sbin/rbldnsd"
    if not os.path.exists(binary):
        pytest.skip("rbldnsd is not installed (make system-deps-test installs it)")
    (tmp_path / "bl").write_text(":127.0.0.2:Listed by the lab\n192.0.2.7\n")
    # Started as root, rbldnsd reads its zones as its own user.
    tmp_path.chmod(0o755)
    (tmp_path / "bl").chmod(0o644)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        port = probe_port.getsockname()[1]
    args = [binary, "-n", "-w", str(tmp_path), "-b", f"127.0.0.1/{port}", "bl.lab.test:ip4set:bl"]
    server = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    yield f"127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_it_finds_listings_on_a_real_dnsbl_server(rbldnsd):
    resolver = dns.resolver_make(rbldnsd, lifetime=0.5)

    async def check(ip):
        # rbldnsd may still be loading its zone: ask again until it answers.
        for _ in range(20):
            if await dns.dnsbl_listed(ip, "bl.lab.test", resolver):
                return True
            await asyncio.sleep(0.1)
        return False

    assert run_sync(check("192.0.2.7")) is True
    assert run_sync(dns.dnsbl_listed("192.0.2.8", "bl.lab.test", resolver)) is False
