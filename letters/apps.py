from __future__ import annotations

from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from letters.checks import senders_routable_check

        checks.register(senders_routable_check)
