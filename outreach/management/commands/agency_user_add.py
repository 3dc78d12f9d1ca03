from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from outreach.models import Membership
from outreach.services import agency_user_add


class Command(BaseCommand):
    help = "Create a login for an agency (coordinator by default) and print its password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("agency_code")
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--role", default=Membership.Role.COORDINATOR, choices=Membership.Role.values
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, password = agency_user_add(
                agency_code=options["agency_code"],
                username=options["username"],
                role=options["role"],
                email=options["email"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Login: {user.get_username()} / {password}")
        self.stdout.write("Ask them to change it, and to set up two-factor at /admin/two-factor/.")
