"""The probe's verdicts by name, for the core models (pure: no ORM, no probes import).

``probes.verdicts`` holds the table that decides them and re-exports these.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

OPEN_RELAY = "open_relay"
NOT_RELAY = "not_relay"
AUTH_REQUIRED = "auth_required"
TLS_FAILED = "tls_failed"
TEMP_FAILURE = "temp_failure"
NO_SMTP = "no_smtp"
# Our client refused, not relaying: a 5xx banner, 554/521 and a drop, "access denied".
REFUSED = "refused"
TIMEOUT = "timeout"
PROTOCOL_ERROR = "protocol_error"
# The labels say what was proved: "refused" is a refusal of us, not of relaying.
VERDICT_CHOICES = [
    (OPEN_RELAY, _("Open relay")),
    (NOT_RELAY, _("Not a relay")),
    (AUTH_REQUIRED, _("Authentication required")),
    (TLS_FAILED, _("TLS failed")),
    (TEMP_FAILURE, _("Temporary failure (try later)")),
    (NO_SMTP, _("Not SMTP")),
    (REFUSED, _("Refused our client")),
    (TIMEOUT, _("Timed out")),
    (PROTOCOL_ERROR, _("Protocol error")),
]
# Verdicts that prove nothing about relaying: after an open relay they leave it
# open, "re-test inconclusive", and it is tried again later.
INCONCLUSIVE = frozenset({REFUSED, TIMEOUT, TEMP_FAILURE, NO_SMTP, PROTOCOL_ERROR, TLS_FAILED})


def retest_inconclusive(status: str, verdict: str) -> bool:
    """An open relay whose latest re-test proved nothing either way."""
    return status == OPEN_RELAY and verdict in INCONCLUSIVE
