"""A verification run: fan hosts out to the workers and wait for every verdict.

It sits above ``probes.tasks`` (which it sends work through); the probing
and the recording themselves are in ``probes.verify``.
"""

from __future__ import annotations

import logging
import time

from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from outreach.models import Host
from probes.tasks import hosts_verify_enqueue

log = logging.getLogger(__name__)


def hosts_verify_run(
    *,
    host_ids: list[int],
    port: int = 25,
    all_tests: bool = False,
    stall_seconds: float = 120.0,
    deadline_seconds: float = 6 * 3600.0,
    poll_seconds: float = 1.0,
) -> dict[str, int]:
    """Verify hosts on the workers and wait until each has a verdict from this run.

    The broker is not the record of what is left to do: the database is.
    Redis without persistence loses its queued batches when it restarts, so
    when no host has been verified for ``stall_seconds`` the hosts still
    waiting are sent again. Probing a host twice is harmless: the dialogue
    never sends DATA and recording a verdict is idempotent.
    """
    started = timezone.now()
    pending = set(host_ids)
    _enqueue_tolerant(pending, port=port, all_tests=all_tests)
    last_progress = begun = time.monotonic()
    resent = 0
    while pending and time.monotonic() - begun < deadline_seconds:
        time.sleep(poll_seconds)
        done = Host.objects.filter(id__in=pending, last_probed_at__gte=started)
        finished = set(done.values_list("id", flat=True))
        if finished:
            pending -= finished
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > stall_seconds:
            log.warning("no verdict for %d s: sending %d hosts again", stall_seconds, len(pending))
            if _enqueue_tolerant(pending, port=port, all_tests=all_tests):
                last_progress = time.monotonic()
                resent += 1
    return {"verified": len(host_ids) - len(pending), "missing": len(pending), "resent": resent}


def _enqueue_tolerant(host_ids: set[int], *, port: int, all_tests: bool) -> bool:
    """Send batches; False when the broker cannot be reached (tried again later)."""
    try:
        hosts_verify_enqueue(host_ids=sorted(host_ids), port=port, all_tests=all_tests)
    except (OSError, KombuOperationalError) as exc:
        log.warning("the broker is unreachable, will send again: %s", exc)
        return False
    return True
