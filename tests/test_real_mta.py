"""The probe against real mail servers: Postfix, Exim and OpenSMTPD from Debian packages.

Each MTA runs from a private folder on 127.25.x.y:25 with one listener per
relay policy and no delivery transport (see lab/mta.py). The probe runs through
the product's own path (the guard, lab-mode target mapping and probe_many),
and each verdict must match what the policy really does.

Needs root and the packages: ``make test`` installs them (``system-deps-mta``).
Under CI=true a missing package fails the run instead of skipping it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import mta
from probes import smtp
from tests.mta_helpers import lab_map_write, listeners_probe, mta_lab  # noqa: F401 (fixture)

pytestmark = pytest.mark.mta

CATCH_ALL = (
    "a catch-all answers 250 to user%domain@[its own address] and keeps the mail: RCPT"
    " alone cannot tell it from a relay without a control recipient"
)


def row(mta_name, policy, verdict, passed=(), reason=""):
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(
        mta_name, policy, verdict, list(passed), id=f"{mta_name}-{policy}", marks=marks
    )


# (MTA, policy) → the verdict the truth calls for (lab.mta.TRUTH says what each does).
ROWS = [
    # Test 2 runs first (smtp.RUN_ORDER): the plainest proof.
    *(row(m, "open", smtp.OPEN_RELAY, [2]) for m in mta.MTAS),
    row("postfix", "closed", smtp.NOT_RELAY),
    # Exim hangs up at the 11th RSET (smtp_accept_max_nonmail); pipelined, the probe reads
    # that as a broken group and finishes the battery in lock-step on a new
    # connection. Lock-step alone still ends in protocol_error
    # (tests/test_real_mta_pipelining.py).
    row("exim", "closed", smtp.NOT_RELAY),
    row("opensmtpd", "closed", smtp.NOT_RELAY),
    *(row(m, "auth", smtp.AUTH_REQUIRED) for m in mta.MTAS),
    row("postfix", "starttls", smtp.OPEN_RELAY, [2]),
    row("exim", "starttls", smtp.OPEN_RELAY, [2]),
    # Its TLS is broken on Debian 12 (see lab.mta.TRUTH): no one gets past the 530.
    row("opensmtpd", "starttls", smtp.TLS_FAILED),
    row("postfix", "routing", smtp.NOT_RELAY),
    row("exim", "routing", smtp.OPEN_RELAY, [5]),
    row("opensmtpd", "routing", smtp.NOT_RELAY, reason=CATCH_ALL),
    row("postfix", "greylist", smtp.TEMP_FAILURE),
    # The verdict table reads a battery of 4xx and 5xx answers (the 501s to the odd
    # forms, Exim's 554 at its RSET limit) as "try later", not as a refusal.
    row("exim", "greylist", smtp.TEMP_FAILURE),
    row("opensmtpd", "greylist", smtp.TEMP_FAILURE),
    *(row(m, "refuse", smtp.REFUSED) for m in mta.MTAS),
    *(row(m, "refuse_temp", smtp.TEMP_FAILURE) for m in mta.MTAS),
    *(row(m, "deny_client", smtp.REFUSED) for m in mta.MTAS),
    *(row(m, "tarpit", smtp.TIMEOUT) for m in mta.MTAS),
]


@pytest.fixture(scope="module")
def results(lab, tmp_path_factory):
    """Probe every listener once, all at once, through the product's lab-mode path."""
    return listeners_probe(lab, lab_map_write(lab, tmp_path_factory))


@pytest.mark.parametrize(("mta_name", "policy", "verdict", "passed"), ROWS)
def test_it_gives_each_real_mta_policy_the_verdict_its_truth_calls_for(
    results, mta_name, policy, verdict, passed
):
    result = results[(mta_name, policy)]
    assert (result.verdict, result.tests_passed) == (verdict, passed), result.transcript[-1500:]


def test_it_covers_every_policy_each_mta_can_express(results):
    assert set(results) == set(mta.TRUTH)
    assert len(ROWS) == len(mta.TRUTH)


@pytest.mark.parametrize("mta_name", ["postfix", "exim"])
def test_it_relays_only_after_starttls_on_the_starttls_listener(results, mta_name):
    result = results[(mta_name, "starttls")]
    lines = result.transcript.splitlines()
    tls = next(i for i, line in enumerate(lines) if line.endswith(" C: STARTTLS"))
    assert result.starttls is True
    # Pipelined, the first group's RCPT goes out before the server's 530 to
    # MAIL comes back (RFC 2920); none is accepted before TLS, and the pass
    # that proves the relay comes after it.
    assert any(" S: 530 " in line for line in lines[max(0, tls - 3) : tls])
    assert " S: 220 " in lines[tls + 1]
    assert not any(" S: 250 2.1.5" in line or " S: 251 " in line for line in lines[:tls])
    passing = smtp.transcript_of_test(result.transcript, result.tests_passed[0])
    assert passing and result.transcript.rindex(passing) > result.transcript.index(" C: STARTTLS")
    assert any("RCPT TO:<relaytest@" in line for line in lines[tls:])


def test_it_agrees_with_exims_own_routing_of_the_percent_hack(lab, results):
    # The truth, from Exim itself: only the routing listener sends user%domain@[me] on.
    routing, closed = (lab.listener("exim", p).ip for p in ("routing", "closed"))
    rcpt = "relaytest%relaytest.outreach.example@[{}]"
    assert "routed by relay router" in lab.exim_route(rcpt.format(routing), "routing")
    assert "Unrouteable address" in lab.exim_route(rcpt.format(closed), "closed")
    assert results[("exim", "routing")].tests_passed == [5]


@pytest.mark.parametrize("mta_name", mta.MTAS)
def test_it_never_gets_a_message_queued(lab, results, mta_name):
    # Read after every probe ran: not one message was accepted for delivery.
    log = lab.log(mta_name)
    accepted = {"postfix": "message-id=", "exim": " <= ", "opensmtpd": "smtp message "}
    assert log, "the MTA logged nothing: the log check would prove nothing"
    assert accepted[mta_name] not in log
    queues = {
        "postfix": [f"postfix/queue/{q}" for q in ("maildrop", "incoming", "active", "deferred")],
        "exim": ["exim/spool/input"],
        "opensmtpd": ["opensmtpd/spool/queue", "opensmtpd/spool/incoming"],
    }
    assert Path(lab.dir, queues[mta_name][0]).parent.is_dir(), "not the MTA's spool"
    for queue in queues[mta_name]:
        assert not [p for p in Path(lab.dir, queue).rglob("*") if p.is_file()], queue


def listening_on_port_25() -> set[str]:
    """Every IPv4 address with a socket listening on port 25, from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port = local.split(":")
        if state == "0A" and int(port, 16) == mta.PORT:
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


def test_it_listens_only_on_its_loopback_addresses(lab):
    ours = {x.ip for x in lab.listeners}
    listening = listening_on_port_25()
    assert ours <= listening
    # Nothing (ours or a system MTA) listens on a wildcard or non-loopback address.
    assert all(ip.startswith("127.") for ip in listening), listening
