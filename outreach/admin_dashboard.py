"""The campaign dashboard in the admin: figures, SVG charts and a CSV export.

Reached through ``CampaignAdmin.get_urls()``, wrapped in ``admin_view``; the
campaign and every letter counted go through ``for_user(request.user)``.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from letters.dashboard import (
    BREAKDOWN_LABELS,
    BREAKDOWNS,
    FIGURE_LABELS,
    Figures,
    campaign_figures,
    figures_csv,
)
from outreach.charts import Series, bar_chart_svg
from outreach.models import Campaign

COLORS = {"sent": "#4c78a8", "answered": "#54a24b", "bounced": "#e45756", "fixed": "#f58518"}


class CampaignDashboardMixin:
    """Adds /admin/outreach/campaign/<id>/dashboard/ (and .csv) to CampaignAdmin."""

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:campaign_id>/dashboard/", view(self.dashboard_view), name="campaign_dashboard"
            ),
            path(
                "<int:campaign_id>/dashboard.csv",
                view(self.dashboard_csv_view),
                name="campaign_dashboard_csv",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    @admin.display(description=gettext_lazy("Dashboard link"))
    def dashboard_link(obj: Campaign) -> str:
        url = reverse("admin:campaign_dashboard", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Dashboard"))

    def _campaign(self, request: HttpRequest, campaign_id: int) -> Campaign:
        campaign = Campaign.objects.for_user(request.user).filter(pk=campaign_id).first()
        if campaign is None or not self.has_view_permission(request, campaign):
            raise Http404(_("No such campaign."))
        return campaign

    def _breakdown(self, request: HttpRequest) -> str:
        by = request.GET.get("by", "agency")
        return by if by in BREAKDOWNS else "agency"

    def dashboard_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = self._campaign(request, campaign_id)
        by = self._breakdown(request)
        rows = campaign_figures(user=request.user, campaign_id=campaign.pk, by=by)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dashboard: %(campaign)s") % {"campaign": campaign.name},
            "campaign": campaign,
            "rows": rows,
            "by": by,
            "by_label": BREAKDOWN_LABELS.get(by, by),
            "breakdowns": [(name, BREAKDOWN_LABELS.get(name, name)) for name in BREAKDOWNS],
            "chart": mark_safe(_chart(rows[:-1], by)),  # noqa: S308 - built escaped in charts.py
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/outreach/campaign/dashboard.html", context)

    def dashboard_csv_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = self._campaign(request, campaign_id)
        by = self._breakdown(request)
        rows = campaign_figures(user=request.user, campaign_id=campaign.pk, by=by)
        response = HttpResponse(figures_csv(rows, breakdown=by), content_type="text/csv")
        filename = f"{campaign.slug}-by-{by}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _chart(rows: list[Figures], by: str) -> str:
    series = [
        Series(str(FIGURE_LABELS[name]), color, [getattr(r, name) for r in rows])
        for name, color in COLORS.items()
    ]
    return bar_chart_svg(
        title=_("Letters by %(breakdown)s") % {"breakdown": BREAKDOWN_LABELS.get(by, by)},
        labels=[r.label for r in rows],
        series=series,
    )
