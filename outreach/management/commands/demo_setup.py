from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand

from outreach.models import Membership
from outreach.services import agencies_seed, campaign_demo_ensure, user_demo_ensure


class Command(BaseCommand):
    help = "Prepare the embedded demo: seed agencies, a demo campaign and a login."

    def handle(self, *args: Any, **options: Any) -> None:
        agencies_seed()
        campaign = campaign_demo_ensure()
        user, password = user_demo_ensure(
            username="investigator", agency_code="ftc", role=Membership.Role.INVESTIGATOR
        )
        # The demo investigator may do everything the admin offers.
        user.user_permissions.set(Permission.objects.all())
        self.stdout.write(self.style.SUCCESS(f"Demo campaign: {campaign.name} ({campaign.slug})"))
        self.stdout.write(self.style.SUCCESS("Admin: http://127.0.0.1:8000/admin/"))
        self.stdout.write(self.style.SUCCESS(f"Login: {user.get_username()} / {password}"))
