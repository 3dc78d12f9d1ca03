from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from outreach.commands import OutreachCommand
from outreach.models import Membership
from outreach.services import agency_user_add


class Command(OutreachCommand):
    help = "Create a login for an agency (coordinator by default) and print its password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("agency_code")
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--role", default=Membership.Role.COORDINATOR, choices=Membership.Role.values
        )
        parser.add_argument(
            "--language",
            default="",
            choices=["", *dict(settings.ADMIN_LANGUAGES)],
            help="The admin's language for this user (default: the site language).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, password = agency_user_add(
                agency_code=options["agency_code"],
                username=options["username"],
                role=options["role"],
                email=options["email"],
                language=options["language"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        login = {"username": user.get_username(), "password": password}
        self.summary(
            login | {"agency": options["agency_code"], "role": options["role"]},
            f"Login: {login['username']} / {password}",
        )
        self.note("Ask them to change it, and to set up two-factor at /admin/two-factor/.")
