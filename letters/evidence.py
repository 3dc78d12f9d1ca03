"""How evidence reads, in the letter and on the recipient page: a verdict's
label and a bounded excerpt of an SMTP transcript. Pure: no database."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The recipient page quotes this much of a transcript; a letter, less.
EXCERPT_LINES = 20
EXCERPT_CHARS = 2000
EXCERPT_LINE_CHARS = 160
MAX_FIELD = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

VERDICT_LABELS = {
    # Translators: the result of our SMTP relay test of one address, in a table.
    "open_relay": gettext_lazy("Open relay: it accepted our test messages for other networks"),
    "not_relay": gettext_lazy("Not a relay: it refused our test messages"),
    "auth_required": gettext_lazy("Not a relay: it refused our test messages"),
    "tls_failed": gettext_lazy("Not known: the test could not finish"),
    "temp_failure": gettext_lazy("Not known: the test could not finish"),
    "protocol_error": gettext_lazy("Not known: the test could not finish"),
    "no_smtp": gettext_lazy("No mail server answered"),
    "refused": gettext_lazy("No mail server answered"),
    "timeout": gettext_lazy("No mail server answered"),
}
# Translators: shown for an address whose mail server we have not tested yet.
NOT_TESTED = gettext_lazy("Not tested yet")
# Translators: appended to the result of an address that was an open relay before.
FIXED = gettext_lazy("Fixed: thank you")


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


def transcript_excerpt(
    text: str,
    *,
    lines: int = EXCERPT_LINES,
    chars: int = EXCERPT_CHARS,
    line_chars: int = EXCERPT_LINE_CHARS,
) -> str:
    """The head of an SMTP transcript: enough to prove the verdict, bounded.

    Blank lines and control characters go, each line is clipped, and a last
    "…" line says when something was left out.
    """
    kept = [clip(line, line_chars) for line in (text or "").splitlines() if line.strip()]
    head = "\n".join(kept[:lines])[:chars]
    return head + ("\n…" if len(kept) > lines or len(head) < len("\n".join(kept)) else "")


def clip(value: str, limit: int = MAX_FIELD) -> str:
    """Strangers' strings: drop control characters and bound the length."""
    value = _CONTROL.sub("", value or "")
    return value if len(value) <= limit else value[: limit - 1] + "…"
