"""Investigator admin for feeds, listings and probe evidence."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from outreach.admin_base import ScopedAdmin, ScopedInline
from probes.models import Feed, Listing, Probe


@admin.register(Feed)
class FeedAdmin(ScopedAdmin):
    list_display = ["name", "format", "is_host_list", "url", "last_imported_at"]
    list_filter = ["format", "is_host_list"]
    search_fields = ["name", "url"]


@admin.register(Listing)
class ListingAdmin(ScopedAdmin):
    list_display = ["feed", "host", "cidr", "reason", "first_seen", "last_seen", "removed_at"]
    list_filter = ["feed"]
    search_fields = ["=host__ip", "=cidr", "reason"]
    raw_id_fields = ["host"]
    list_select_related = ["feed", "host"]


@admin.register(Probe)
class ProbeAdmin(ScopedAdmin):
    list_display = ["host", "port", "verdict", "started_at", "finished_at"]
    list_filter = ["verdict", "port"]
    search_fields = ["=host__ip"]
    raw_id_fields = ["host"]
    list_select_related = ["host"]
    readonly_fields = ["transcript", "dns"]
    date_hierarchy = "started_at"


class ProbeInline(ScopedInline):
    """A host's probes, newest first, read-only: evidence is never edited."""

    model = Probe
    fields = ["started_at", "port", "verdict", "tests_passed", "starttls", "error"]
    readonly_fields = fields
    ordering = ["-started_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
