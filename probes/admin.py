"""Investigator admin for feeds, listings and probe evidence.

A feed's page links to an upload view: the file is stored, previewed
(detected format, first rows, counts) and only imported when the user
commits; the import then runs as a task and its page shows the progress.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from outreach.admin_base import ScopedAdmin, ScopedInline
from outreach.admin_feedback import ActionReport
from outreach.admin_search import DisputeCampaignFilter
from outreach.models import Campaign
from probes import tasks, uploads
from probes.disputes import DisputeError, contact_dispute_resolve
from probes.feeds import FORMATS, FeedError
from probes.models import ContactDispute, Feed, Listing, Probe

ADDITIONS, SNAPSHOT = "additions", "snapshot"


class FeedUploadForm(forms.Form):
    file = forms.FileField(label=_("File"), required=False, help_text=_("Plain text, CSV or gzip."))
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("", _("The feed's format")), ("auto", _("Detect"))] + [(f, f) for f in FORMATS],
        required=False,
    )
    ip_column = forms.CharField(
        label=_("IP column"),
        required=False,
        max_length=64,
        help_text=_("CSV only: column name, or number."),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    mode = forms.ChoiceField(
        label=_("This file is"),
        choices=[
            (ADDITIONS, _("additions only: the feed's other listings stay as they are")),
            (SNAPSHOT, _("the whole feed: its listings absent from this file are marked removed")),
        ],
        initial=ADDITIONS,
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, campaigns: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Scoped: a posted id outside the user's campaigns is a form error.
        self.fields["campaign"].queryset = campaigns


@admin.register(Feed)
class FeedAdmin(ScopedAdmin):
    list_display = ["name", "format", "is_host_list", "url", "last_imported_at"]
    list_filter = ["format", "is_host_list"]
    search_fields = ["name", "url"]
    change_form_template = "admin/probes/feed/change_form.html"
    actions = ["import_now"]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/upload/", view(self.upload_view), name="probes_feed_upload"),
            path(
                "<path:object_id>/upload/<str:token>/",
                view(self.upload_status_view),
                name="probes_feed_upload_status",
            ),
            *super().get_urls(),
        ]

    def _feed(self, request: HttpRequest, object_id: str) -> Feed:
        feed = Feed.objects.for_user(request.user).filter(pk=object_id).first()
        if feed is None:
            raise Http404("No such feed.")
        if not self.has_change_permission(request, feed):
            raise PermissionDenied
        return feed

    def upload_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        feed = self._feed(request, object_id)
        campaigns = Campaign.objects.for_user(request.user)
        form = FeedUploadForm(request.POST or None, request.FILES or None, campaigns=campaigns)
        context = {**self.admin_site.each_context(request), "feed": feed, "form": form}
        title = gettext("Import a file into %(feed)s") % {"feed": feed}
        context["opts"], context["title"] = self.model._meta, title
        if request.method == "POST" and form.is_valid():
            try:
                if "commit" in request.POST:
                    return self._upload_commit(request, feed, form.cleaned_data)
                context.update(self._upload_preview(feed, form))
            except FeedError as exc:
                form.add_error(None, str(exc))
        return render(request, "admin/probes/feed/upload.html", context)

    def _upload_preview(self, feed: Feed, form: FeedUploadForm) -> dict:
        data = form.cleaned_data
        if not data["file"]:
            raise FeedError(gettext("choose a file to upload"))
        token = uploads.upload_save(chunks=data["file"].chunks())
        preview = uploads.upload_preview(
            token=token, feed=feed, fmt=data["format"], ip_column=data["ip_column"]
        )
        campaign = data["campaign"]
        return {
            "preview": preview,
            "shown": uploads.preview_shown(preview),
            "token": token,
            "commit_format": data["format"],
            "commit_ip_column": data["ip_column"],
            "commit_campaign": campaign.pk if campaign else "",
            "commit_mode": data["mode"] or ADDITIONS,
        }

    def _upload_commit(self, request: HttpRequest, feed: Feed, data: dict) -> HttpResponse:
        token = data["token"]
        if not uploads.upload_exists(token):
            raise FeedError(
                gettext("this upload has expired or was already imported: upload it again")
            )
        campaign = data["campaign"]
        job = partial(
            tasks.feed_upload_import.delay,
            feed.pk,
            token,
            data["format"],
            data["ip_column"],
            campaign.pk if campaign else None,
            data["mode"] == SNAPSHOT,
        )
        transaction.on_commit(job)
        url = reverse("admin:probes_feed_upload_status", args=[feed.pk, token])
        return HttpResponseRedirect(url)

    def upload_status_view(self, request: HttpRequest, object_id: str, token: str) -> HttpResponse:
        feed = self._feed(request, object_id)
        status = uploads.upload_status(token)
        if status is None and not uploads.upload_exists(token):
            raise Http404("No such upload.")
        context = {
            **self.admin_site.each_context(request),
            "feed": feed,
            "opts": self.model._meta,
            "title": gettext("Import into %(feed)s") % {"feed": feed},
            "status": status or {"state": "queued", "lines": 0},
            "summary": uploads.summary_shown((status or {}).get("summary") or {}),
        }
        return render(request, "admin/probes/feed/upload_status.html", context)

    @admin.action(description=_("Import now from the feed's URL"))
    def import_now(self, request: HttpRequest, queryset: Any) -> None:
        report = ActionReport(
            ngettext_lazy(
                "%(count)d feed import queued.", "%(count)d feed imports queued.", "count"
            )
        )
        for feed in queryset.only("pk", "name", "url"):
            if not feed.url:
                report.skip(feed, gettext("no URL to fetch from (upload a file instead)"))
                continue
            transaction.on_commit(partial(tasks.feed_refresh.delay, feed.pk))
            report.ok(feed)
        report.send(self, request)


class ReadOnlyEvidence:
    """Evidence is read-only in the admin for every role, superusers included:
    no add, no change, no delete (a POST to either answers 403). Probes leave
    only through the audited retention purge (probes.retention)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Listing)
class ListingAdmin(ReadOnlyEvidence, ScopedAdmin):
    list_display = ["feed", "host", "cidr", "reason", "first_seen", "last_seen", "removed_at"]
    list_filter = ["feed"]
    search_fields = ["=host__ip", "=cidr", "reason"]
    raw_id_fields = ["host"]
    list_select_related = ["feed", "host"]


@admin.register(Probe)
class ProbeAdmin(ReadOnlyEvidence, ScopedAdmin):
    list_display = ["host", "port", "verdict", "started_at", "finished_at"]
    list_filter = ["verdict", "port"]
    search_fields = ["=host__ip"]
    raw_id_fields = ["host"]
    list_select_related = ["host"]
    readonly_fields = ["transcript", "dns"]
    date_hierarchy = "started_at"


class ProbeInline(ReadOnlyEvidence, ScopedInline):
    """A host's probes, newest first, read-only: evidence is never edited."""

    model = Probe
    fields = ["started_at", "port", "verdict", "tests_passed", "starttls", "error"]
    readonly_fields = fields
    ordering = ["-started_at"]
    can_delete = False


class ListingInline(ReadOnlyEvidence, ScopedInline):
    """The feeds that listed a host, with first and last seen."""

    model = Listing
    fields = ["feed", "reason", "first_seen", "last_seen", "removed_at"]
    readonly_fields = fields
    ordering = ["feed__name"]
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ContactDisputeForm(forms.ModelForm):
    """The investigator's choice among the candidates the sources named."""

    choose = forms.ChoiceField(
        label=_("Write to"),
        required=False,
        help_text=_("Moves every host of the network to this address (audited)."),
    )

    class Meta:
        model = ContactDispute
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        candidates = self.instance.candidates if self.instance.pk else []
        self.fields["choose"].choices = [("", "---")] + [
            (c["email"], f"{c['email']} ({c.get('source', '?')}, {c.get('rule', '')})")
            for c in candidates
            if isinstance(c, dict) and c.get("email")
        ]


@admin.register(ContactDispute)
class ContactDisputeAdmin(ScopedAdmin):
    """ "Contacts in dispute": networks whose sources name different contacts."""

    form = ContactDisputeForm
    list_display = ["network", "ip", "status", "best_candidate", "created_at"]
    list_filter = ["status", DisputeCampaignFilter]
    search_fields = ["=ip", "network__cidr"]
    readonly_fields = ["network", "ip", "candidates", "status", "chosen_email", "resolved_at"]
    list_select_related = ["network"]

    @admin.display(description=_("best candidate"))
    def best_candidate(self, obj: ContactDispute) -> str:
        return obj.candidates[0].get("email", "") if obj.candidates else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        email = form.cleaned_data.get("choose")
        if not email:
            return
        try:
            moved = contact_dispute_resolve(dispute_id=obj.id, email=email, actor=request.user)
        except DisputeError as exc:
            messages.error(request, str(exc))
            return
        done = ngettext(
            "%(count)d host now goes to %(email)s.", "%(count)d hosts now go to %(email)s.", moved
        )
        messages.success(request, done % {"count": moved, "email": email})
