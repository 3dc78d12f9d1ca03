"""The lab RDAP simulator enforces each registry's published limit, as the registry does."""

from __future__ import annotations

import pytest

from lab.rdap import RdapSimulator, generated_answer
from probes import rdap


def fetch(sim: RdapSimulator, ip: str) -> dict:
    return rdap.rdap_fetch(ip, base_url=sim.base_url)


def test_an_excess_request_gets_429_with_retry_after_and_is_counted():
    with RdapSimulator(generate=generated_answer, limits={"lacnic": (2, 60.0)}) as sim:
        fetch(sim, "177.1.1.1")
        fetch(sim, "177.1.2.1")
        with pytest.raises(rdap.RdapRateLimited) as caught:
            fetch(sim, "177.1.3.1")
        # Another registry is not charged for LACNIC's limit.
        fetch(sim, "62.1.1.1")
    assert 55 <= caught.value.wait <= 61
    assert caught.value.registry == "lacnic"
    assert sim.over_limit == {"lacnic": 1}


def test_repeated_excess_blocks_the_client_for_the_block_period():
    with RdapSimulator(
        generate=generated_answer,
        limits={"lacnic": (1, 60.0)},
        block_after=2,
        block_seconds=300.0,
    ) as sim:
        fetch(sim, "177.1.1.1")
        waits = []
        for n in range(3):
            with pytest.raises(rdap.RdapRateLimited) as caught:
                fetch(sim, f"177.2.{n}.1")
            waits.append(caught.value.wait)
    assert waits[0] <= 61 and waits[1] >= 299 and waits[2] >= 298
    assert sim.over_limit == {"lacnic": 3}
