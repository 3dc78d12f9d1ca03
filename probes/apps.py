from __future__ import annotations

from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from probes import checks  # noqa: F401 (registers the system checks)
