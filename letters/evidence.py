"""How evidence reads, in the letter and on the recipient page: a verdict's
label and a bounded excerpt of an SMTP transcript. Pure: no database."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from probes.evidence import proof_excerpt

# The recipient page quotes this much of a transcript; a letter, less.
EXCERPT_LINES = 20
EXCERPT_CHARS = 2000
EXCERPT_LINE_CHARS = 160
MAX_FIELD = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Translators: the result of our SMTP relay test of one address, in a table.
_REFUSED_OUR_TESTS = gettext_lazy("Not a relay: it refused our test messages")
# Translators: the result of our SMTP relay test of one address, in a table.
_UNFINISHED = gettext_lazy("Not known: the test could not finish")
# Translators: the result of our SMTP relay test of one address, in a table.
_NO_SERVER = gettext_lazy("No mail server answered")
# Verdicts that prove the same thing to the recipient read the same.
VERDICT_LABELS = {
    # Translators: the result of our SMTP relay test of one address, in a table.
    "open_relay": gettext_lazy("Open relay: it accepted our test messages for other networks"),
    "not_relay": _REFUSED_OUR_TESTS,
    "auth_required": _REFUSED_OUR_TESTS,
    "tls_failed": _UNFINISHED,
    "temp_failure": gettext_lazy("Not known: the server asked us to try again later"),
    "protocol_error": _UNFINISHED,
    "no_smtp": _NO_SERVER,
    # Translators: the server refused to talk to our test, which proves nothing either way.
    "refused": gettext_lazy("Not known: the server refused to talk to our test"),
    "timeout": _NO_SERVER,
}
# Translators: shown for an address whose mail server we have not tested yet.
NOT_TESTED = gettext_lazy("Not tested yet")
# Translators: appended to the result of an address that was an open relay before.
FIXED = gettext_lazy("Fixed: thank you")
# Translators: appended to "Open relay…" when our latest re-test could not
# decide; {reason} is the result of that re-test, {date} its date (UTC).
INCONCLUSIVE = gettext_lazy(
    "Our re-test of {date} was inconclusive ({reason}), so it still counts as an open "
    "relay. We will test it again."
)


def verdict_label(verdict: str, *, status: str = "", brief: bool = False) -> str:
    """A verdict in words: ``brief`` for the letter's table (confirmed or only
    listed), else in full for the recipient page, which also says when the
    host has been fixed since."""
    if brief:
        if verdict == "open_relay":
            # Translators: result of our SMTP test, shown in a table next to the IP address.
            return _("Open relay confirmed")
        return _("Listed, not confirmed by our test")
    label = str(VERDICT_LABELS.get(verdict, NOT_TESTED))
    return f"{label}. {FIXED}" if status == "fixed" else label


def transcript_excerpt(text: str, tests_passed: Sequence[int] = ()) -> str:
    """The proof in a transcript, bounded: banner, greeting, the whole passing
    exchange (after TLS for STARTTLS hosts), elisions marked with "…" (see
    ``probes.evidence.proof_excerpt``). Control characters go."""
    return _CONTROL.sub("", proof_excerpt(text or "", tests_passed))


def inconclusive_label(*, verdict: str, when: str) -> str:
    """An open relay whose latest re-test proved nothing: still an open relay."""
    reason = str(VERDICT_LABELS.get(verdict, verdict))
    return f"{VERDICT_LABELS['open_relay']}. {INCONCLUSIVE.format(date=when, reason=reason)}"


def clip(value: str, limit: int = MAX_FIELD) -> str:
    """Strangers' strings: drop control characters and bound the length."""
    value = _CONTROL.sub("", value or "")
    return value if len(value) <= limit else value[: limit - 1] + "…"
