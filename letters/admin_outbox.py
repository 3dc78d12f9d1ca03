"""Sending from the admin: a campaign action with a preview, and a progress page.

Both views go through ``CampaignAdmin.get_urls()`` and ``admin_view``; the
campaigns and letters shown are ``for_user(request.user)``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from letters.delivery import letters_delivery_unknown
from letters.models import Letter
from letters.outbox import OutboxError, outbox_send
from letters.tasks import letters_send_task
from outreach.models import Campaign
from outreach.roles import agencies_allowing, lead_agency_ids
from outreach.scoping import user_sees_all


def _may_send(request: HttpRequest) -> bool:
    return request.user.has_perm("letters.send_letter")


class CampaignOutboxMixin:
    """Adds the "Send approved letters" action and /<id>/outbox/ progress."""

    actions = ["send_approved_letters"]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:campaign_id>/outbox/", view(self.outbox_view), name="campaign_outbox"),
            *super().get_urls(),
        ]

    def send_approved_letters(
        self, request: HttpRequest, queryset: QuerySet[Campaign]
    ) -> HttpResponse | None:
        """Confirm with a preview of the first message, then enqueue the sends."""
        if not _may_send(request):
            raise PermissionDenied
        campaigns = list(Campaign.objects.for_user(request.user).filter(pk__in=queryset))
        if request.POST.get("confirm") == "yes":
            for campaign in campaigns:
                for agency_id in sending_agencies(request, campaign):
                    transaction.on_commit(
                        lambda c=campaign.pk, a=agency_id: letters_send_task.delay(c, a)
                    )
            started = ngettext(
                "Sending started for %(count)d campaign.",
                "Sending started for %(count)d campaigns.",
                len(campaigns),
            )
            self.message_user(request, started % {"count": len(campaigns)})
            if campaigns:
                return HttpResponseRedirect(
                    reverse("admin:campaign_outbox", args=[campaigns[0].pk])
                )
            return None
        return self._confirm_page(request, campaigns)

    send_approved_letters.short_description = _("Send approved letters…")

    def _confirm_page(self, request: HttpRequest, campaigns: list[Campaign]) -> HttpResponse:
        preview, error = "", ""
        agencies = sending_agencies(request, campaigns[0]) if campaigns else []
        if agencies:
            try:
                preview = outbox_send(
                    campaign_id=campaigns[0].pk, agency_id=agencies[0], dry_run=True, limit=1
                ).preview
            except OutboxError as problem:
                error = str(problem)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Send approved letters"),
            "campaigns": campaigns,
            "counts": [(c, _approved(request, c)) for c in campaigns],
            "preview": preview,
            "error": error,
            "test_recipient": settings.OUTREACH_TEST_RECIPIENT,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        if error:
            messages.error(request, error)
        return TemplateResponse(request, "admin/letters/send_confirm.html", context)

    def outbox_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = Campaign.objects.for_user(request.user).filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404("No such campaign.")
        letters = Letter.objects.for_user(request.user).filter(campaign=campaign)
        counts = dict(letters.values_list("status").annotate(n=Count("id")).order_by())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Outbox: %(campaign)s") % {"campaign": campaign.name},
            "campaign": campaign,
            "counts": [(label, counts.get(value, 0)) for value, label in Letter.Status.choices],
            "sending": counts.get(Letter.Status.SENDING, 0),
            "delivery_unknown": letters_delivery_unknown().filter(pk__in=letters).count(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/letters/outbox_progress.html", context)


def sending_agencies(request: HttpRequest, campaign: Campaign) -> list[int | None]:
    """Whose letters this user may send: everyone's (None) for the superuser and
    the investigators of the campaign's lead agency, else the part of the
    agencies where the user's own role may send."""
    user = request.user
    if user_sees_all(user) or campaign.lead_agency_id in lead_agency_ids(user):
        return [None]
    mine = set(agencies_allowing(user, "letters.send_letter"))
    return [a for a in campaign.agencies().values_list("id", flat=True) if a in mine]


def _approved(request: HttpRequest, campaign: Campaign) -> int:
    return (
        Letter.objects.for_user(request.user)
        .filter(campaign=campaign, status=Letter.Status.APPROVED)
        .count()
    )
