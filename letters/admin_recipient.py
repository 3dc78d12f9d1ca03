"""Investigator admin for the recipient page: its links and its audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from letters.models import RecipientAction, RecipientToken
from outreach.admin_base import ScopedAdmin
from outreach.audit import audit_update


class ReadOnlyAdmin(ScopedAdmin):
    """Rows written only by the page itself: nobody adds or edits them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RecipientAction)
class RecipientActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "letter", "client_ip", "response"]
    list_filter = ["action"]
    date_hierarchy = "created_at"
    search_fields = ["letter__contact__email", "=client_ip"]
    list_select_related = ["letter__campaign", "letter__contact", "response"]
    raw_id_fields = ["letter", "token", "response"]


@admin.register(RecipientToken)
class RecipientTokenAdmin(ReadOnlyAdmin):
    # The secret and the hash are never shown: together with the server key
    # the secret would print the link.
    fields = ["letter", "created_at", "expires_at", "revoked_at", "first_viewed_at", "view_count"]
    list_display = ["letter", "created_at", "expires_at", "revoked_at", "view_count"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["letter__contact__email"]
    list_select_related = ["letter__campaign", "letter__contact"]
    raw_id_fields = ["letter"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoking is a change; the form itself stays read-only (no fields
        # are editable), so this only opens the action.
        return ScopedAdmin.has_change_permission(self, request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.fields

    @admin.action(description=_("Revoke the selected links"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = audit_update(
            actor=request.user,
            queryset=queryset.filter(revoked_at__isnull=True),
            event="revoke",
            revoked_at=timezone.now(),
        )
        done = ngettext("%(count)d link revoked.", "%(count)d links revoked.", count)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)
