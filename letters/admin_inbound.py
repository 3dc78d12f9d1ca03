"""Admin for what comes back: the unmatched queue, and what a reply is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from letters.inbound import response_assign, response_mark
from outreach.admin_base import ScopedSimpleListFilter
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


ACTED_ON = {Response.Kind.FIXED_CLAIM, Response.Kind.OPT_OUT}


class MatchedFilter(ScopedSimpleListFilter):
    title = "letter"
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Unmatched: waiting for a person"), ("yes", "Matched to a letter")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Response]) -> QuerySet[Response]:
        if self.value() == "no":
            return queryset.filter(letter__isnull=True)
        if self.value() == "yes":
            return queryset.filter(letter__isnull=False)
        return queryset


class ResponseMarkMixin:
    actions = [
        _mark_action(Response.Kind.FIXED_CLAIM, "Claims fixed (re-probe now)"),
        _mark_action(Response.Kind.DISPUTE, "Dispute"),
        _mark_action(Response.Kind.OPT_OUT, "Opt-out (do not contact)"),
        _mark_action(Response.Kind.QUESTION, "Question"),
    ]

    def save_model(self, request: HttpRequest, obj: Response, form: Any, change: bool) -> None:
        # Assigning a message from the unmatched queue acts on it as a match would.
        was_unmatched = change and form.initial.get("letter") is None
        super().save_model(request, obj, form, change)
        if was_unmatched and obj.letter_id is not None and obj.channel == Response.Channel.EMAIL:
            response_assign(response_id=obj.pk, letter_id=obj.letter_id, user_id=request.user.pk)
        elif not change and obj.letter_id is not None and obj.kind in ACTED_ON:
            # A call, letter or web form saying "fixed" or "stop writing" counts
            # exactly like the same email would.
            response_mark(response_id=obj.pk, kind=obj.kind, user_id=request.user.pk)
