"""A sending worker in its own process, for the kill -9 test.

Usage: python -m tests.outbox_worker CAMPAIGN_ID (DATABASE_URL set by the test).
"""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outreach.settings")
django.setup()

from letters.outbox import outbox_send  # noqa: E402
from tests.letter_content import content  # noqa: E402

if __name__ == "__main__":
    outbox_send(campaign_id=int(sys.argv[1]), content=content)
