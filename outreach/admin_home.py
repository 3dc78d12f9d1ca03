"""The campaign home: ``/admin/outreach/campaign/<id>/`` opens on it.

Django admin's own names stay as they are: the edit form is still
``admin:outreach_campaign_change`` at ``<id>/change/``, linked from the home.
The view only checks access and hands the selector's figures to the template;
the reads live in ``letters.campaign_home``.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from letters.campaign_home import Breakdown, campaign_home
from outreach.charts import Series, bar_chart_svg
from outreach.models import Campaign

COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756"]


class CampaignHomeMixin:
    """Adds the home view to CampaignAdmin and links the list to it."""

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:campaign_id>/", view(self.home_view), name="outreach_campaign_home"),
            *super().get_urls(),
        ]

    @admin.display(description=_("campaign"), ordering="name")
    def home_link(self, obj: Campaign) -> str:
        url = reverse("admin:outreach_campaign_home", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.name)

    def home_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = Campaign.objects.for_user(request.user).filter(pk=campaign_id).first()
        if campaign is None or not self.has_view_permission(request, campaign):
            raise Http404(_("No such campaign."))
        home = campaign_home(user=request.user, campaign=campaign)
        # The SVG is built escaped in charts.py.
        breakdowns = [(b, mark_safe(_chart(b))) for b in home.breakdowns]  # noqa: S308
        context = {
            **self.admin_site.each_context(request),
            "title": campaign.name,
            "campaign": campaign,
            "home": home,
            "breakdowns": breakdowns,
            "may_change": self.has_change_permission(request, campaign),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/outreach/campaign/home.html", context)


def _chart(breakdown: Breakdown) -> str:
    series = [
        Series(str(name), COLORS[i % len(COLORS)], [row[1][i].count for row in breakdown.rows])
        for i, name in enumerate(breakdown.columns)
    ]
    labels = [label for label, _cells in breakdown.rows]
    title = _("By %(name)s") % {"name": breakdown.title}
    return bar_chart_svg(title=str(title), labels=labels, series=series)
