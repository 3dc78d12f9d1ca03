from __future__ import annotations

from typing import Any

from outreach.commands import OutreachCommand
from outreach.services import demo_prepare


class Command(OutreachCommand):
    help = "Prepare the embedded demo: seed agencies, a demo campaign and a login."

    def handle(self, *args: Any, **options: Any) -> None:
        campaign, user, password = demo_prepare()
        admin = "http://127.0.0.1:8000/admin/"
        login = {"username": user.get_username(), "password": password}
        text = (
            f"Demo campaign: {campaign.name} ({campaign.slug})\n"
            f"Admin: {admin}\nLogin: {login['username']} / {password}"
        )
        self.summary({"campaign": campaign.slug, "admin": admin} | login, self.style.SUCCESS(text))
