"""System checks: network lists in settings must parse, or nothing starts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from probes.addresses import parse_networks


@register()
def network_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for name in ("NEVER_CONTACT_NETWORKS", "PROBE_ALLOWED_NETWORKS"):
        try:
            parse_networks(getattr(settings, name, []))
        except ValueError as exc:
            errors.append(
                Error(f"{name} has an entry that is not a network: {exc}", id="probes.E001")
            )
    return errors
