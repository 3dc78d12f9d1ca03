"""``python manage.py build_letters --campaign SLUG [--json]``"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from letters.build import letters_build
from outreach.models import Campaign


class Command(BaseCommand):
    help = "Build (or refresh) the draft letters of a campaign: one per contact."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--campaign", required=True, help="Campaign slug.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(slug=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign with slug {options['campaign']!r}.")
        summary = letters_build(campaign_id=campaign.pk).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        for key, value in summary.items():
            self.stdout.write(f"{key}: {value}")
