"""Tasks of the probes app. Each stage keeps its tasks in its own module."""

from __future__ import annotations

from probes.tasks_rdap import campaign_contacts_lookup, contacts_lookup_batch  # noqa: F401
