from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from outreach.services import demo_prepare


class Command(BaseCommand):
    help = "Prepare the embedded demo: seed agencies, a demo campaign and a login."

    def handle(self, *args: Any, **options: Any) -> None:
        campaign, user, password = demo_prepare()
        self.stdout.write(self.style.SUCCESS(f"Demo campaign: {campaign.name} ({campaign.slug})"))
        self.stdout.write(self.style.SUCCESS("Admin: http://127.0.0.1:8000/admin/"))
        self.stdout.write(self.style.SUCCESS(f"Login: {user.get_username()} / {password}"))
