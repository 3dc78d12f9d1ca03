"""Host status rules: where a verdict moves a host.

The rules themselves live with the verdict table in ``probes.verdicts``
(``host_status_after``), pure: an open relay becomes fixed only on a
completed dialogue that refused relaying; a re-test that proved nothing
(refused us, timed out, ...) leaves it open, "re-test inconclusive".
"""

from __future__ import annotations

from probes import verdicts


def host_status_next(current: str, verdict: str) -> str:
    """The host's status after a probe gave this verdict."""
    return verdicts.host_status_after(current, verdict)
