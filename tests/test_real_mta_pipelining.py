"""Pipelined and lock-step probes against Postfix, Exim and OpenSMTPD: the same verdicts.

Every listener of the real-MTA lab (lab/mta.py) is probed twice through the
product's lab-mode path, once with PIPELINING (all three MTAs advertise it)
and once in lock-step, and both runs must reach the same verdict.
"""

from __future__ import annotations

import pytest

from lab import mta
from tests.mta_helpers import lab_map_write, listeners_probe, mta_lab  # noqa: F401 (fixture)

pytestmark = pytest.mark.mta


@pytest.fixture(scope="module")
def both(lab, tmp_path_factory):
    map_file = lab_map_write(lab, tmp_path_factory)
    return (
        listeners_probe(lab, map_file, PROBE_PIPELINING=True),
        listeners_probe(lab, map_file, PROBE_PIPELINING=False),
    )


EXIM_NONMAIL = (
    "Exim answers the 11th RSET with 554 (smtp_accept_max_nonmail) and hangs up: lock-step ends"
    " in protocol_error, the pipelined probe goes on in lock-step on a new connection and"
    " finishes the battery"
)
DIFFER = {("exim", p) for p in ("closed", "greylist")}


def keys() -> list:
    return [
        pytest.param(
            k,
            id=f"{k[0]}-{k[1]}",
            marks=[pytest.mark.xfail(strict=True, reason=EXIM_NONMAIL)] if k in DIFFER else [],
        )
        for k in sorted(mta.TRUTH)
    ]


@pytest.mark.parametrize("key", keys())
def test_it_gets_the_same_verdict_pipelined_and_in_lock_step_on_real_mtas(both, key):
    pipelined, lockstep = (run[key] for run in both)
    assert (pipelined.verdict, pipelined.tests_passed) == (
        lockstep.verdict,
        lockstep.tests_passed,
    ), pipelined.transcript[-1500:]


@pytest.mark.parametrize(
    ("mta_name", "advertises"), [("postfix", True), ("exim", True), ("opensmtpd", False)]
)
def test_it_pipelines_with_the_mtas_that_advertise_it(both, mta_name, advertises):
    pipelined, lockstep = (run[(mta_name, "open")] for run in both)
    assert ("S: 250-PIPELINING" in pipelined.transcript) is advertises
    assert ("*: PIPELINING" in pipelined.transcript) is advertises
    assert "PIPELINING:" not in lockstep.transcript


def test_it_finishes_exims_closed_battery_only_when_pipelined(both):
    pipelined, lockstep = (run[("exim", "closed")] for run in both)
    assert lockstep.verdict == "protocol_error"
    assert "554 Too many nonmail commands" in pipelined.transcript
    assert pipelined.verdict == "not_relay"
