"""The real-MTA lab for the `mta` tests: started once per test module, never skipped in CI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings

from lab import mta
from probes.verify import targets_probe


@contextmanager
def mta_lab_running(*, network: int = 25) -> Iterator[mta.MtaLab]:
    reasons = mta.missing()
    if reasons:
        message = "real MTAs unavailable: " + "; ".join(reasons)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (make system-deps-mta installs them as root)")
        pytest.skip(message)
    with mta.MtaLab(network=network) as lab:
        yield lab


def lab_map_write(lab: mta.MtaLab, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The lab's address map in a file of its own, for LAB_HOST_MAP."""
    map_file = tmp_path_factory.mktemp("mta") / "lab-map.json"
    map_file.write_text(json.dumps(lab.lab_map()))
    return str(map_file)


def listeners_probe(lab: mta.MtaLab, map_file: str, **overrides: object) -> dict:
    """Probe every listener once, all at once, through the product's lab-mode path."""
    with override_settings(
        LAB_MODE=True,
        LAB_HOST_MAP=map_file,
        PROBE_ALLOWED_NETWORKS=[],
        PROBE_DNS_RESOLVER="",
        # The product's default. After 10 errors Postfix answers every command
        # 1 s late (smtpd_error_sleep_time), so a closed Postfix needs ~21 s.
        PROBE_DEADLINE=30,
        # Beyond this, a silent banner is a tarpit.
        PROBE_READ_TIMEOUT=5,
        PROBE_PER_NETWORK=50,
        PROBE_RATE=0,
        **overrides,
    ):
        found = targets_probe(addresses=[(x.ip, x.port) for x in lab.listeners])
    return {(x.mta, x.policy): r for x, r in zip(lab.listeners, found, strict=True)}


@pytest.fixture(scope="module", name="lab")
def mta_lab() -> Iterator[mta.MtaLab]:
    """The ``lab`` of a real-MTA test module: its MTAs started once for the module."""
    with mta_lab_running(network=25) as running:
        yield running
