"""The admin index lists the user's campaigns, each linking to its home."""

from __future__ import annotations

from django import template

from outreach.models import Campaign

register = template.Library()


@register.simple_tag(takes_context=True)
def user_campaigns(context: template.Context, limit: int = 20) -> list[Campaign]:
    request = context.get("request")
    if request is None:
        return []
    campaigns = Campaign.objects.for_user(request.user).exclude(status=Campaign.Status.CLOSED)
    return list(campaigns.order_by("-created_at")[:limit])
