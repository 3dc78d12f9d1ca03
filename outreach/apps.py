from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = "Outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.signals import post_log
        from django.core import checks

        from outreach.audit import log_entry_tag_agency
        from outreach.checks import senders_routable_check

        post_log.connect(log_entry_tag_agency, dispatch_uid="outreach_audit_agency")
        checks.register(senders_routable_check)


class OutreachAdminConfig(admin_apps.AdminConfig):
    default = False
    # Replaces django.contrib.admin in INSTALLED_APPS so admin.site is ours.
    default_site = "outreach.admin_site.OutreachAdminSite"
