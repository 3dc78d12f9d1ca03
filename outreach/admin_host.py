"""The host's admin page: everything about one address on one page.

Its latest transcript, every probe with its verdict (ProbeInline), the feeds
that listed it with first and last seen (ListingInline), its network and
contact, and its letters with their outcomes. Reads only: a GET writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from letters.models import Letter
from probes.models import Probe


def host_page_context(*, request: HttpRequest, host_id: int) -> dict[str, Any]:
    """What the host page shows beyond the form and the inlines, scoped to the user."""
    latest = Probe.objects.filter(host_id=host_id).order_by("-started_at", "-pk").first()
    letters = (
        Letter.objects.for_user(request.user)
        .filter(hosts=host_id)
        .select_related("campaign", "contact")
        .order_by("-created_at")[:50]
    )
    return {"latest_probe": latest, "host_letters": list(letters)}


class HostPageMixin:
    change_form_template = "admin/outreach/host/change_form.html"
    page_fields: list[str] = []

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if str(object_id).isdigit():
            extra.update(host_page_context(request=request, host_id=int(object_id)))
        return super().change_view(request, object_id, form_url, extra)  # type: ignore[misc]
