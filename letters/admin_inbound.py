"""Admin actions for what comes back: an investigator says what a reply is."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import HttpRequest

from letters.inbound import response_mark
from outreach.models import Response


def _mark_action(kind: str, label: str) -> Callable:
    def action(admin: object, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        # The changelist queryset is already for_user-scoped by ScopedAdmin.
        ids = list(queryset.values_list("id", flat=True))
        for response_id in ids:
            response_mark(response_id=response_id, kind=kind, user_id=request.user.pk)
        admin.message_user(request, f"{len(ids)} response(s) marked {label.lower()}.")

    action.__name__ = f"mark_{kind}"
    action.short_description = f"Mark as {label.lower()}"
    action.allowed_permissions = ("change",)
    return action


class ResponseMarkMixin:
    actions = [
        _mark_action(Response.Kind.FIXED_CLAIM, "Claims fixed (re-probe now)"),
        _mark_action(Response.Kind.DISPUTE, "Dispute"),
        _mark_action(Response.Kind.OPT_OUT, "Opt-out (do not contact)"),
        _mark_action(Response.Kind.QUESTION, "Question"),
    ]
