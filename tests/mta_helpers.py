"""The real-MTA lab for the `mta` tests: started once per test module, never skipped in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lab import mta


@contextmanager
def mta_lab_running(*, network: int = 25) -> Iterator[mta.MtaLab]:
    reasons = mta.missing()
    if reasons:
        message = "real MTAs unavailable: " + "; ".join(reasons)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (make system-deps-mta installs them as root)")
        pytest.skip(message)
    with mta.MtaLab(network=network) as lab:
        yield lab
