"""``python manage.py build_letters --campaign SLUG [--json]``"""

from __future__ import annotations

from typing import Any

from letters.build import letters_build
from outreach.commands import OutreachCommand, campaign_by_slug, done_of_total


class Command(OutreachCommand):
    help = "Build (or refresh) the draft letters of a campaign: one per contact."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--campaign", required=True, help="Campaign slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = campaign_by_slug(options["campaign"])
        with self.progress(unit=" contacts") as bar:
            summary = letters_build(campaign_id=campaign.pk, progress=done_of_total(bar))
        text = "\n".join(f"{key}: {value}" for key, value in summary.as_dict().items())
        self.summary(summary.as_dict(), text)
