"""Host status rules: where a verdict moves a host.

One small module, as healthchecks keeps ``Check.get_status`` on the model:
the model lives in ``outreach`` and the verdicts in ``probes.smtp``, and
``outreach`` must not import ``probes``.
"""

from __future__ import annotations

from outreach.models import Host
from probes import smtp

# Verdict → host status. Verdicts not listed (temp_failure, tls_failed,
# protocol_error) say nothing new about the host and leave it as it was.
VERDICT_STATUS = {
    smtp.OPEN_RELAY: Host.Status.OPEN_RELAY,
    smtp.NOT_RELAY: Host.Status.NOT_RELAY,
    smtp.AUTH_REQUIRED: Host.Status.NOT_RELAY,
    smtp.REFUSED: Host.Status.UNREACHABLE,
    smtp.TIMEOUT: Host.Status.UNREACHABLE,
    smtp.NO_SMTP: Host.Status.UNREACHABLE,
}
WAS_RELAY = {Host.Status.OPEN_RELAY, Host.Status.FIXED}


def host_status_next(current: str, verdict: str) -> str:
    """The host's status after a probe gave this verdict."""
    status = VERDICT_STATUS.get(verdict)
    if status is None:
        return current
    if status == Host.Status.NOT_RELAY and current in WAS_RELAY:
        return Host.Status.FIXED
    return status
