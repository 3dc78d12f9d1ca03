from __future__ import annotations

from typing import Any

from outreach.commands import OutreachCommand
from outreach.services import agencies_seed


class Command(OutreachCommand):
    help = "Create the agencies of the reference campaign (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated = agencies_seed()
        self.summary(
            {"created": created, "updated": updated},
            f"Seed agencies: {created} created, {updated} already present.",
        )
