"""Coordination between workers: single-flight locks (the registry buckets
are in ``outreach.lib.bucket``).

With REDIS_URL the locks live in Redis, so every worker on every machine shares
them. Without it (the embedded mode: one process, in-process tasks) they fall
back to process-local equivalents with the same behaviour.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from outreach.lib.bucket import redis_client

_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


class FlightBusy(Exception):
    """Another worker holds this lock and the caller chose not to wait."""


@contextmanager
def single_flight(key: str, *, timeout: float = 60.0, wait: bool = True) -> Iterator[None]:
    """Hold the lock named ``key`` while the body runs.

    When it is taken, wait for it, or raise FlightBusy at once if ``wait`` is
    false (the caller has other work to do first). The Redis lock expires
    after ``timeout`` so a killed worker cannot block a network for ever;
    keep the body shorter than that (one RDAP request).
    """
    client = redis_client()
    if client is None:
        lock = _local_lock(key)
        if not lock.acquire(blocking=wait, timeout=timeout if wait else -1):
            raise FlightBusy(key)
        try:
            yield
        finally:
            lock.release()
        return
    lock = client.lock(f"outreach:rdap:flight:{key}", timeout=timeout, blocking_timeout=timeout)
    if not lock.acquire(blocking=wait):
        raise FlightBusy(key)
    try:
        yield
    finally:
        # LockError: it expired (the body ran too long); the next holder has it.
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def _local_lock(key: str) -> threading.Lock:
    with _LOCAL_LOCKS_GUARD:
        return _LOCAL_LOCKS.setdefault(key, threading.Lock())
