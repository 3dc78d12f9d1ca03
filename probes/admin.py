"""Investigator admin for feeds, listings and probe evidence."""

from __future__ import annotations

from django.contrib import admin

from outreach.admin_base import ScopedAdmin
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
    readonly_fields = ["transcript"]
    date_hierarchy = "started_at"
