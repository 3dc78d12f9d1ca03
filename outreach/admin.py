"""Investigator admin for the core domain."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from letters.admin_outbox import CampaignOutboxMixin
from letters.admin_queues import (
    CampaignFilter,
    HostAsnFilter,
    HostCountryFilter,
    HostQueueFilter,
    RegistryFilter,
)
from letters.build import letters_build
from letters.corrections import host_status_correct
from outreach.admin_base import ScopedAdmin, ScopedInline, ScopedRelatedFilter
from outreach.admin_dashboard import CampaignDashboardMixin
from outreach.admin_feedback import ActionReport
from outreach.admin_forms import AgencyAdminForm
from outreach.admin_home import CampaignHomeMixin
from outreach.admin_host import HostPageMixin
from outreach.admin_search import HostSearchMixin
from outreach.admin_security import MembershipRules
from outreach.models import (
    Agency,
    AgencyText,
    Campaign,
    Contact,
    Host,
    Membership,
    Network,
    PartnerRank,
)
from outreach.roles import user_is_investigator
from probes.admin import ListingInline, ProbeInline
from probes.tasks import hosts_verify_enqueue
from probes.tasks_rdap import campaign_contacts_lookup


class MembershipInline(MembershipRules, ScopedInline):
    model = Membership
    autocomplete_fields = ["user"]


class AgencyTextInline(ScopedInline):
    """The agency's name and introduction per letter language."""

    model = AgencyText
    show_change_link = False
    fields = [
        "language",
        "status",
        "name",
        "in_list",
        "introduction",
        "subject",
        "group",
        "group_phrase",
        "group_member",
    ]
    verbose_name_plural = _("Names and introductions per language")


@admin.register(Agency)
class AgencyAdmin(ScopedAdmin):
    form = AgencyAdminForm
    list_display = [
        "name",
        "code",
        "country",
        "default_language",
        "contact_email",
        "texts_complete",
        "is_active",
    ]
    list_filter = ["is_active", "country", "default_language"]
    search_fields = ["name", "code", "contact_email"]
    inlines = [AgencyTextInline, MembershipInline]
    readonly_fields = ["texts_complete"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agency]:
        return super().get_queryset(request).prefetch_related("texts")

    @admin.display(description=_("Letter languages: reviewed / written / missing"))
    def texts_complete(self, agency: Agency) -> str:
        """Which letter languages have this agency's texts, and how many are reviewed."""
        texts = {text.language: text for text in agency.texts.all()}
        reviewed = sum(t.status == AgencyText.Status.REVIEWED for t in texts.values())
        missing = [code for code, _name in settings.LANGUAGES if code not in texts]
        shown = ", ".join(missing[:6]) + ("…" if len(missing) > 6 else "")
        return _("%(reviewed)d / %(written)d / %(missing)d missing%(list)s") % {
            "reviewed": reviewed,
            "written": len(texts),
            "missing": len(missing),
            "list": f" ({shown})" if missing else "",
        }

    def row_write_allowed(self, request: HttpRequest, obj: Any, action: str) -> bool:
        # A new agency is in no campaign yet: the investigator creating it may
        # (and then adds it to a campaign their agency leads).
        if action == "add":
            return user_is_investigator(request.user)
        return super().row_write_allowed(request, obj, action)


@admin.register(Membership)
class MembershipAdmin(MembershipRules, ScopedAdmin):
    list_display = ["user", "agency", "role", "created_at"]
    list_filter = ["role", ("agency", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "agency__name", "agency__code"]
    autocomplete_fields = ["user", "agency"]
    list_select_related = ["user", "agency"]


class PartnerRankInline(ScopedInline):
    """The order in which this campaign's letters name its partners."""

    model = PartnerRank
    show_change_link = False
    autocomplete_fields = ["agency"]
    verbose_name_plural = _(
        "Partner order in letters (lower first; unranked partners follow in the "
        "reference letter's order, then alphabetically)"
    )


@admin.register(Campaign)
class CampaignAdmin(CampaignHomeMixin, CampaignDashboardMixin, CampaignOutboxMixin, ScopedAdmin):
    list_display = [
        "home_link",
        "slug",
        "lead_agency",
        "status",
        "remediation_deadline",
        "created_at",
        "dashboard_link",
    ]
    # The name opens the campaign's home; the slug opens the edit form.
    list_display_links = ["slug"]
    list_filter = ["status", ("lead_agency", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["lead_agency", "partners"]
    list_select_related = ["lead_agency"]
    # A campaign can hold a million hosts: never render them as a widget.
    exclude = ["hosts"]
    actions = ["lookup_contacts", "build_letters", "send_approved_letters"]
    inlines = [PartnerRankInline]

    @admin.action(
        description=_("Look up abuse contacts of the verified relays"), permissions=["change"]
    )
    def lookup_contacts(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        # Batches go to the workers (in-process on the embedded default).
        report = ActionReport(_("Contact look-up started for %(count)d campaign(s)."))
        for campaign in queryset:
            transaction.on_commit(partial(campaign_contacts_lookup.delay, campaign.pk))
            report.ok(campaign)
        report.send(self, request)

    @admin.action(description=_("Build letter drafts"), permissions=["change"])
    def build_letters(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            summary = letters_build(campaign_id=campaign.id)
            report = ActionReport(
                _("%(campaign)s: %(created)d letter(s) created, %(updated)d updated")
                % {"campaign": campaign, "created": summary.created, "updated": summary.updated}
                + _(", %(count)d in all.")
            )
            report.ok(count=summary.created + summary.updated + summary.unchanged)
            report.skip(
                None, _("host(s) whose contact opted out"), count=summary.skipped_do_not_contact
            )
            report.skip(
                None,
                _("host(s) whose network's abuse contact asked not to be written to"),
                count=summary.hosts_opted_out,
            )
            report.skip(
                None, _("host(s) without an abuse contact"), count=summary.hosts_without_contact
            )
            report.send(self, request)


@admin.register(Network)
class NetworkAdmin(ScopedAdmin):
    list_display = ["cidr", "registry", "handle", "name", "country", "asn", "agency", "fetched_at"]
    list_filter = ["registry", "country", ("agency", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=cidr", "handle", "name", "=asn"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]
    readonly_fields = ["range_start", "range_end", "raw_rdap", "fetched_at"]


@admin.register(Contact)
class ContactAdmin(ScopedAdmin):
    list_display = ["email", "organisation", "country", "language", "agency", "do_not_contact"]
    list_filter = ["do_not_contact", "country", ("agency", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["email", "organisation"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]


class HostCorrectionForm(forms.Form):
    status = forms.ChoiceField(choices=Host.Status.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text=_("Why the probes' verdict is overridden. Kept in the audit log."),
    )


@admin.register(Host)
class HostAdmin(HostPageMixin, HostSearchMixin, ScopedAdmin):
    list_display = [
        "ip",
        "status",
        "verdict_display",
        "last_probed_at",
        "country",
        "asn_display",
        "agency",
    ]
    # Only filters whose choices need no scan of the host table.
    list_filter = [
        "status",
        ("agency", ScopedRelatedFilter),
        HostCountryFilter,
        HostAsnFilter,
        CampaignFilter,
        HostQueueFilter,
        RegistryFilter,
    ]
    # An address, prefix, CIDR, ASN or email is an indexed match
    # (HostSearchMixin); other text searches the PTR name and organisation.
    search_fields = ["ptr", "contact__organisation"]
    raw_id_fields = ["network", "contact"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]
    # The status follows the probes; only the audited correction overrides it.
    readonly_fields = [
        "status_and_correction",
        "last_verdict",
        "last_probed_at",
        "fixed_at",
        "created_at",
        *HostPageMixin.page_fields,
    ]
    exclude = ["status"]
    inlines = [ListingInline, ProbeInline]
    actions = ["verify_now"]

    def get_readonly_fields(self, request: HttpRequest, obj: Host | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        # A host's address is what its probes tested: fixed once it exists.
        return [*fields, "ip"] if obj is not None else fields

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/correct/",
                view(self.correct_view),
                name="outreach_host_correct",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("Status"))
    def status_and_correction(self, obj: Host) -> str:
        if obj.pk is None:
            return "-"
        note = _(" (re-test inconclusive: still an open relay)") if obj.retest_inconclusive else ""
        return format_html(
            '{}{} · <a href="{}">{}</a>',
            obj.get_status_display(),
            note,
            reverse("admin:outreach_host_correct", args=[obj.pk]),
            _("Correct the status…"),
        )

    def correct_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET shows the form and writes nothing; POST corrects, with a reason."""
        host = self.get_object(request, object_id)
        if host is None:
            raise Http404
        if not self.has_change_permission(request, host):
            raise PermissionDenied
        form = HostCorrectionForm(request.POST or None, initial={"status": host.status})
        if request.method == "POST" and form.is_valid():
            try:
                host_status_correct(
                    host_id=host.pk,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Status corrected and audited."), messages.SUCCESS)
                return redirect("admin:outreach_host_change", host.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": host,
            "form": form,
            "title": _("Correct the status of %s") % host,
        }
        return TemplateResponse(request, "admin/outreach/host/correct.html", context)

    @admin.display(description=_("last verdict"), ordering="last_verdict")
    def verdict_display(self, obj: Host) -> str:
        # The verdict's label; an unknown code as it is.
        return obj.get_last_verdict_display() or "—"

    @admin.display(description=_("AS"), ordering="asn")
    def asn_display(self, obj: Host) -> str:
        return f"AS{obj.asn}" if obj.asn else "—"

    @admin.action(
        description=_("Probe the selected hosts for open relaying"), permissions=["change"]
    )
    def verify_now(self, request: HttpRequest, queryset: QuerySet[Host]) -> None:
        # The queryset is already scoped to what this user may see.
        ids = list(queryset.values_list("id", flat=True))
        hosts_verify_enqueue(host_ids=ids)
        report = ActionReport(_("%(count)d host(s) sent to the probe."))
        report.ok(count=len(ids))
        report.send(self, request)
