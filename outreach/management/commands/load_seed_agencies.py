from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from outreach.services import agencies_seed


class Command(BaseCommand):
    help = "Create the agencies of the reference campaign (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated = agencies_seed()
        self.stdout.write(f"Seed agencies: {created} created, {updated} already present.")
