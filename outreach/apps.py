from __future__ import annotations

import sys

from auditlog.apps import AuditlogConfig
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = _("Outreach")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.signals import post_log

        from outreach.audit import log_entry_tag_agency

        post_log.connect(log_entry_tag_agency, dispatch_uid="outreach_audit_agency")


class OutreachAuditlogConfig(AuditlogConfig):
    """django-auditlog, with its name in the admin translated by our catalog."""

    default = False
    verbose_name = _("Audit log")


# Management commands that never touch the admin. Each run of them would
# otherwise import every admin module (and what those import) at set-up: a
# fifth of verify_relays' start-up, which every probe run pays.
LEAN_COMMANDS = frozenset({"verify_relays"})


class OutreachAdminConfig(admin_apps.AdminConfig):
    default = False
    # Replaces django.contrib.admin in INSTALLED_APPS so admin.site is ours.
    default_site = "outreach.admin_site.OutreachAdminSite"

    def ready(self) -> None:
        if lean_command(sys.argv):
            # The admin's checks stay registered; only the discovery is skipped.
            admin_apps.SimpleAdminConfig.ready(self)
            return
        super().ready()


def lean_command(argv: list[str]) -> bool:
    """Whether this process is ``manage.py <a lean command>``."""
    return len(argv) > 1 and argv[0].endswith("manage.py") and argv[1] in LEAN_COMMANDS
