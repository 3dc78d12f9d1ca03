"""Pacing for the in-process lookup: wait on limits instead of giving up.

Celery workers never sleep on a limit (the batch task retries with backoff);
the ``lookup_contacts`` command, run in-process, has nothing better to do
than wait, so it passes a ``Pacer`` down to ``probes.contacts``. The pacer
also counts what was sent per registry, for the progress bar and its ETA.
No ORM here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from probes.rdap import RdapRateLimited

# A registry that still answers 429 after this many waits in a row, for one
# network, is treated as down: the host is reported waiting.
MAX_REMOTE_WAITS = 5
# Never sleep longer than this in one go (the bar refreshes in between).
MAX_SLEEP = 30.0


@dataclass
class Pacer:
    """Sleeps through local buckets and registry 429s (``Retry-After``)."""

    sleep: Callable[[float], None] = time.sleep
    on_wait: Callable[[str, float], None] | None = None
    sent: Counter = field(default_factory=Counter)
    waited: float = 0.0

    def sent_one(self, registry: str) -> None:
        self.sent[registry] += 1

    def wait_for(self, exc: RdapRateLimited, *, remote_waits: int) -> bool:
        """Sleep as long as ``exc`` asks; False when the caller should give up.

        A local bucket always refills, so its waits are unbounded; a registry
        that keeps answering 429 is given up after ``MAX_REMOTE_WAITS``.
        """
        if not exc.local and remote_waits >= MAX_REMOTE_WAITS:
            return False
        remaining = max(exc.wait, 0.01)
        while remaining > 0:
            step = min(remaining, MAX_SLEEP)
            if self.on_wait is not None:
                self.on_wait(exc.registry or "registry", remaining)
            self.sleep(step)
            self.waited += step
            remaining -= step
        return True


def eta_seconds(
    *, left: dict[str, int], sent: dict[str, int], done: dict[str, int], rates: dict
) -> float:
    """Seconds until the slowest registry is through, at its local rate.

    Requests left per registry are its hosts left times the requests per
    host seen so far (1 before any), since cached networks cost nothing.
    """
    worst = 0.0
    for registry, hosts_left in left.items():
        ratio = sent.get(registry, 0) / done[registry] if done.get(registry) else 1.0
        _capacity, per_second = rates.get(registry, (5.0, 5.0))
        worst = max(worst, hosts_left * ratio / per_second)
    return worst


def requests_left(*, left: dict[str, int], sent: dict[str, int], done: dict[str, int]) -> dict:
    return {
        registry: round(
            hosts * (sent.get(registry, 0) / done[registry] if done.get(registry) else 1.0)
        )
        for registry, hosts in left.items()
        if hosts
    }
