"""The verdict table: which reply, at which step of the probe's dialogue, gives which verdict.

A verdict says only what the dialogue proved. A server that refuses *us*
service (a 5xx banner, 554 or 521 then a drop, "access denied" to our client
address) proves nothing about relaying: that is ``refused``, and its 4xx
twin is ``temp_failure``. ``not_relay`` comes only from a completed dialogue
in which every relay test was refused for good.

``probes.smtp`` asks :func:`decide` at every step; the first row that matches
wins. A row's ``result`` is either a verdict, which ends the dialogue, or one
of the step results below, which tell the dialogue how to go on. No ORM here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from outreach.lib.verdict_names import (
    AUTH_REQUIRED,
    INCONCLUSIVE,
    NO_SMTP,
    NOT_RELAY,
    OPEN_RELAY,
    PROTOCOL_ERROR,
    REFUSED,
    TEMP_FAILURE,
    TIMEOUT,
    TLS_FAILED,
    VERDICT_CHOICES,
    retest_inconclusive,
)

VERDICTS = (
    OPEN_RELAY,
    NOT_RELAY,
    AUTH_REQUIRED,
    TLS_FAILED,
    TEMP_FAILURE,
    NO_SMTP,
    REFUSED,
    TIMEOUT,
    PROTOCOL_ERROR,
)

# Steps of the dialogue. ANY rows apply at every step and are tried first;
# END rows judge the battery of relay tests once it has run.
ANY = "any"
CONNECT = "connect"
BANNER = "banner"
EHLO = "ehlo"
HELO = "helo"
STARTTLS = "starttls"
MAIL = "mail"
RCPT = "rcpt"
END = "end"

# Step results that are not verdicts: how the dialogue goes on.
NEXT = "next"  # go on to the next step
TRY_HELO = "try_helo"  # EHLO refused: greet again with HELO
UPGRADE = "upgrade"  # the server demands STARTTLS first
PASS = "pass"  # noqa: S105 (a test answer, not a password): this relay test passed: proof of an open relay
FAIL = "fail"  # the server refused this relay's recipient for good
SENDER_FAIL = "sender_fail"  # the server refused this test's sender for good
TEMP = "temp"  # try-later answer to this test
TEST_ANSWERS = (PASS, FAIL, SENDER_FAIL, TEMP)

# Events that are not replies (the ``reply`` column of their rows).
TCP_REFUSED = "connection refused"
NO_ANSWER = "no answer in time"
CLOSED = "closed before a reply"
TLS_ERROR = "TLS handshake failed"
NOT_SMTP = "not an SMTP reply"
DROPPED = "connection dropped or malformed reply"
NOT_OFFERED = "STARTTLS not offered"
# The battery's conditions (END rows).
A_TEST_PASSED = "a test passed"
EVERY_SENDER_REFUSED = "every test's sender refused (5xx)"
EVERY_TEST_REFUSED = "every test refused (5xx)"
SOME_TRY_LATER = "a test answered 4xx"

# Text that says the refusal is of our client, not of the relay: Postfix's
# "Client host rejected: Access denied", blocklist hits, "your IP" notices.
# A refusal that names the relay or the recipient is a relay refusal
# ("Relay access denied", "Recipient address rejected: Access denied").
_CLIENT = re.compile(
    r"client|access denied|your (?:ip|address|host|network)|\bblock|black ?list|dnsbl"
    r"|banned|reputation|administrative prohibition|not allowed to connect",
    re.IGNORECASE,
)
_RELAY = re.compile(r"relay|recipient", re.IGNORECASE)
_STARTTLS = re.compile(r"starttls", re.IGNORECASE)

# Conditions on the reply text (the ``text`` column).
ANY_TEXT = ""
CLIENT_REFUSAL = "refuses our client"
DEMANDS_STARTTLS = "names STARTTLS"


@dataclass(frozen=True)
class Rule:
    step: str
    reply: str  # a reply code pattern ("421", "4xx", "250/251", "*") or an event
    text: str  # a condition on the reply's text, "" for any
    result: str  # a verdict, or a step result (NEXT, PASS, ...)
    why: str


RULES: tuple[Rule, ...] = (
    # Anywhere in the dialogue.
    Rule(ANY, "421", ANY_TEXT, TEMP_FAILURE, "the server is closing the channel: try later"),
    Rule(ANY, "530", DEMANDS_STARTTLS, UPGRADE, "TLS first: STARTTLS, greet again"),
    Rule(ANY, NO_ANSWER, ANY_TEXT, TIMEOUT, "no reply within the read timeout or the deadline"),
    Rule(ANY, TLS_ERROR, ANY_TEXT, TLS_FAILED, "the TLS handshake failed"),
    Rule(ANY, DROPPED, ANY_TEXT, PROTOCOL_ERROR, "hung up mid-dialogue, or nonsense"),
    # Connecting.
    Rule(CONNECT, TCP_REFUSED, ANY_TEXT, REFUSED, "the host refused our TCP connection"),
    Rule(CONNECT, CLOSED, ANY_TEXT, NO_SMTP, "the host closed the connection without a banner"),
    # The banner.
    Rule(BANNER, "220", ANY_TEXT, NEXT, "service ready"),
    Rule(BANNER, "4xx", ANY_TEXT, TEMP_FAILURE, "a 4xx banner: the server will not serve us now"),
    Rule(BANNER, "5xx", ANY_TEXT, REFUSED, "5xx banner (554, 521 + drop): no service for us"),
    Rule(BANNER, NOT_SMTP, ANY_TEXT, NO_SMTP, "the banner is not an SMTP reply"),
    Rule(BANNER, "*", ANY_TEXT, NO_SMTP, "a banner code SMTP does not use for greetings"),
    # The greeting.
    Rule(EHLO, "250", ANY_TEXT, NEXT, "ESMTP greeting accepted"),
    Rule(EHLO, "*", ANY_TEXT, TRY_HELO, "EHLO refused: fall back to HELO"),
    Rule(HELO, "250", ANY_TEXT, NEXT, "SMTP greeting accepted (no ESMTP, so no STARTTLS)"),
    Rule(HELO, "4xx", ANY_TEXT, TEMP_FAILURE, "greeting refused for now"),
    Rule(HELO, "5xx", ANY_TEXT, REFUSED, "both greetings refused: no service for us"),
    Rule(HELO, "*", ANY_TEXT, PROTOCOL_ERROR, "a reply code SMTP does not use for HELO"),
    # STARTTLS, when the server demanded it.
    Rule(STARTTLS, NOT_OFFERED, ANY_TEXT, TLS_FAILED, "TLS demanded but STARTTLS not offered"),
    Rule(STARTTLS, "220", ANY_TEXT, NEXT, "ready to start TLS"),
    Rule(STARTTLS, "*", ANY_TEXT, TLS_FAILED, "STARTTLS refused"),
    # Each relay test: MAIL FROM, then RCPT TO. Never DATA.
    Rule(MAIL, "250", ANY_TEXT, NEXT, "sender accepted"),
    Rule(MAIL, "530", ANY_TEXT, AUTH_REQUIRED, "authentication required before mail"),
    Rule(MAIL, "5xx", CLIENT_REFUSAL, REFUSED, "our client is refused, not a relay"),
    Rule(MAIL, "4xx", CLIENT_REFUSAL, TEMP_FAILURE, "our client is refused for now"),
    Rule(MAIL, "4xx", ANY_TEXT, TEMP, "sender deferred"),
    Rule(MAIL, "*", ANY_TEXT, SENDER_FAIL, "sender refused"),
    Rule(RCPT, "250/251", ANY_TEXT, PASS, "relay recipient accepted: the test passed"),
    Rule(RCPT, "530", ANY_TEXT, AUTH_REQUIRED, "authentication required to relay"),
    Rule(RCPT, "5xx", CLIENT_REFUSAL, REFUSED, "our client is refused, not the relay"),
    Rule(RCPT, "4xx", CLIENT_REFUSAL, TEMP_FAILURE, "our client is refused for now"),
    Rule(RCPT, "4xx", ANY_TEXT, TEMP, "relay recipient deferred (greylisting)"),
    Rule(RCPT, "*", ANY_TEXT, FAIL, "relay recipient refused"),
    # The battery of 16 tests, once run (a pass is kept even if the server
    # then hangs up: the dialogue turns any later verdict into open_relay).
    Rule(END, A_TEST_PASSED, ANY_TEXT, OPEN_RELAY, "a relay recipient was accepted"),
    Rule(END, EVERY_SENDER_REFUSED, ANY_TEXT, REFUSED, "no sender accepted: relaying never tested"),
    Rule(END, EVERY_TEST_REFUSED, ANY_TEXT, NOT_RELAY, "a completed dialogue refused every test"),
    Rule(END, SOME_TRY_LATER, ANY_TEXT, TEMP_FAILURE, "some tests deferred: nothing proved"),
)


def decide(step: str, code: int | None = None, message: str = "", *, event: str = "") -> Rule:
    """The first row of the table for this reply (or event) at this step."""
    for rule in RULES:
        if rule.step not in (step, ANY):
            continue
        if event:
            if rule.reply == event:
                return rule
        elif code is not None and _code_matches(rule.reply, code) and _text_matches(rule, message):
            return rule
    raise LookupError(f"no verdict rule for {step} {code or event!r}")


def anywhere(code: int, message: str) -> Rule | None:
    """The ANY row a reply meets at any step (421, 530 naming STARTTLS), if one."""
    try:
        return decide(ANY, code, message)
    except LookupError:
        return None


def result(step: str, code: int | None = None, message: str = "", *, event: str = "") -> str:
    return decide(step, code, message, event=event).result


def is_verdict(value: str) -> bool:
    return value in VERDICTS


def battery_condition(answers: Iterable[str]) -> str:
    """Which END row the answers of the relay tests meet."""
    answers = list(answers)
    if PASS in answers:
        return A_TEST_PASSED
    if answers and all(a == SENDER_FAIL for a in answers):
        return EVERY_SENDER_REFUSED
    if answers and all(a in (FAIL, SENDER_FAIL) for a in answers):
        return EVERY_TEST_REFUSED
    return SOME_TRY_LATER


def battery_verdict(answers: Iterable[str]) -> str:
    return result(END, event=battery_condition(answers))


def refuses_client(message: str) -> bool:
    """The reply refuses our client rather than the relay (see ``_CLIENT``)."""
    return bool(_CLIENT.search(message)) and not _RELAY.search(message)


def _code_matches(pattern: str, code: int) -> bool:
    if pattern == "*":
        return True
    for part in pattern.split("/"):
        if part.endswith("xx") and part[0].isdigit() and code // 100 == int(part[0]):
            return True
        if part.isdigit() and int(part) == code:
            return True
    return False


def _text_matches(rule: Rule, message: str) -> bool:
    if rule.text == CLIENT_REFUSAL:
        return refuses_client(message)
    if rule.text == DEMANDS_STARTTLS:
        return bool(_STARTTLS.search(message))
    return True


def table_markdown() -> str:
    """The table as Markdown, for the README (and checked against it by a test)."""
    rows = ["| step | reply | text | result | why |", "|---|---|---|---|---|"]
    for r in RULES:
        rows.append(f"| {r.step} | {r.reply} | {r.text or 'any'} | `{r.result}` | {r.why} |")
    return "\n".join(rows)


# --- What a verdict does to a host ---------------------------------------------

# Host statuses (outreach.models.Host.Status values), as plain strings: no ORM here.
SUSPECTED, UNREACHABLE, FIXED = "suspected", "unreachable", "fixed"
WAS_RELAY = frozenset({OPEN_RELAY, FIXED})
# The verdicts of a completed dialogue in which relaying was refused: only
# they turn an open relay into a fixed one. (A 530 to every unauthenticated
# client is the remedy the letter asks for.)
RELAY_REFUSED = frozenset({NOT_RELAY, AUTH_REQUIRED})
# For hosts never seen relaying: what the verdict says of them.
_FIRST_STATUS = {
    OPEN_RELAY: OPEN_RELAY,
    NOT_RELAY: NOT_RELAY,
    AUTH_REQUIRED: NOT_RELAY,
    REFUSED: UNREACHABLE,
    TIMEOUT: UNREACHABLE,
    NO_SMTP: UNREACHABLE,
}


def host_status_after(current: str, verdict: str) -> str:
    """The host's status after a probe gave this verdict."""
    if verdict == OPEN_RELAY:
        return OPEN_RELAY
    if current in WAS_RELAY:
        return FIXED if verdict in RELAY_REFUSED else current
    return _FIRST_STATUS.get(verdict, current)


__all__ = ["INCONCLUSIVE", "VERDICT_CHOICES", "retest_inconclusive"]
