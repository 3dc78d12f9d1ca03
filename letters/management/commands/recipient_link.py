"""``python manage.py recipient_link LETTER_ID [--renew] [--json]``: print (or renew) a letter's
page link.

For an investigator who must read the link out on the phone, or send it again
after revoking a leaked one.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from letters.models import Letter
from letters.recipient import recipient_token_revoke, recipient_url
from outreach.commands import OutreachCommand


class Command(OutreachCommand):
    help = "Print the recipient page link of a letter; --renew revokes the old one first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("letter_id", type=int)
        parser.add_argument("--renew", action="store_true", help="Revoke the current link first.")

    def handle(self, *args: Any, **options: Any) -> None:
        letter = Letter.objects.filter(pk=options["letter_id"]).first()
        if letter is None:
            raise CommandError(f"No letter {options['letter_id']}.")
        if options["renew"]:
            recipient_token_revoke(letter_id=letter.pk)
        url = recipient_url(letter=letter)
        if not url:
            raise CommandError("OUTREACH_PUBLIC_URL is not set: letters carry no link.")
        self.summary({"letter": letter.pk, "url": url, "renewed": options["renew"]}, url)
