"""The admin's 403 page: the admin's look, the reader's language, and what to do instead.

Django's own 403 page is a bare "403 Forbidden" in English. In the admin a
partner meets it when a page belongs to another agency or to the lead
agency's investigators, so the page says that, names the reader's own role,
and links back to what they may open. It never names the refused object:
the reason a row is refused may itself be the other agency's data.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults

from outreach.models import Membership


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the admin's page for admin URLs, Django's elsewhere."""
    if not request.path_info.startswith(reverse("admin:index")):
        return defaults.permission_denied(request, exception)
    user = request.user
    memberships = Membership.objects.none()
    if getattr(user, "is_authenticated", False):
        memberships = Membership.objects.filter(user=user).select_related("agency")
    context = {
        **_site_context(request),
        "memberships": memberships,
        "back": _same_site_referer(request),
    }
    response = TemplateResponse(request, "admin/403.html", context, status=403)
    return response.render()


def _site_context(request: HttpRequest) -> dict[str, Any]:
    # The navigation of the page the user may open: only when logged in to
    # the admin (each_context lists the apps the user may see).
    if getattr(request.user, "is_staff", False):
        return admin.site.each_context(request)
    return {"site_header": admin.site.site_header, "site_title": admin.site.site_title}


def _same_site_referer(request: HttpRequest) -> str:
    referer = request.headers.get("Referer", "")
    allowed = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if allowed and referer != request.build_absolute_uri() else ""
