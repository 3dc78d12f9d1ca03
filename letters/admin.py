"""Investigator admin for letters."""

from __future__ import annotations

from django.contrib import admin

from letters import admin_recipient  # noqa: F401  (registers the recipient page's admin)
from letters.models import Letter
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
    readonly_fields = ["message_id", "reply_token", "sent_at", "approved_by", "approved_at"]
    inlines = [ResponseInline]
