"""Investigator admin for letters."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from letters.models import Letter, Mailbox, Smarthost
from letters.outbox import letters_requeue_unknown
from outreach.admin_base import ScopedAdmin, ScopedInline
from outreach.models import Response


class ResponseInline(ScopedInline):
    model = Response
    fields = ["received_at", "channel", "kind", "sender", "subject", "outcome"]
    readonly_fields = ["received_at", "sender", "subject"]


@admin.register(Letter)
class LetterAdmin(ScopedAdmin):
    list_display = ["id", "campaign", "agency", "contact", "language", "status", "sent_at"]
    list_filter = [
        "status",
        "language",
        ("campaign", admin.RelatedOnlyFieldListFilter),
        ("agency", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["contact__email", "contact__organisation", "=message_id"]
    raw_id_fields = ["contact", "hosts"]
    autocomplete_fields = ["campaign", "agency"]
    list_select_related = ["campaign", "agency", "contact"]
    readonly_fields = [
        "message_id",
        "reply_token",
        "sent_at",
        "approved_by",
        "approved_at",
        "claimed_at",
        "send_attempts",
        "next_attempt_at",
        "last_error",
    ]
    exclude = ["claim_token"]
    inlines = [ResponseInline]
    actions = ["requeue_unknown"]

    @admin.action(description="Send again: delivery unknown, checked in the smarthost log")
    def requeue_unknown(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        if not request.user.has_perm("letters.send_letter"):
            raise PermissionDenied
        count = letters_requeue_unknown(letter_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} letter(s) will be sent again.")


@admin.register(Smarthost)
class SmarthostAdmin(ScopedAdmin):
    list_display = ["agency", "host", "port", "security", "connections", "is_active"]
    list_filter = ["security", "is_active"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]


@admin.register(Mailbox)
class MailboxAdmin(ScopedAdmin):
    list_display = ["agency", "host", "username", "folder", "is_active", "polled_at"]
    list_filter = ["is_active"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]
    readonly_fields = ["polled_at"]
