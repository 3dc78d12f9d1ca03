"""Admin for what comes back: the unmatched queue, and what a reply is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from letters.models import Response
from letters.responses import response_assign, response_mark, response_store
from outreach.admin_base import ScopedSimpleListFilter
from outreach.admin_feedback import ActionReport


def _mark_action(kind: str, description: Any, done: Any) -> Callable:
    """An action marking the selected responses ``kind``; ``done`` is the
    ngettext_lazy sentence ActionReport counts with."""

    def action(admin: object, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        # The changelist queryset is already for_user-scoped by ScopedAdmin.
        ids = list(queryset.values_list("id", flat=True))
        for response_id in ids:
            response_mark(response_id=response_id, kind=kind, user_id=request.user.pk)
        report = ActionReport(done)
        report.ok(count=len(ids))
        report.send(admin, request)

    action.__name__ = f"mark_{kind}"
    action.short_description = description
    action.allowed_permissions = ("change",)
    return action


ACTED_ON = {Response.Kind.FIXED_CLAIM, Response.Kind.OPT_OUT}


class MatchedFilter(ScopedSimpleListFilter):
    title = _("letter")
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", _("Unmatched: waiting for a person")), ("yes", _("Matched to a letter"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Response]) -> QuerySet[Response]:
        if self.value() == "no":
            return queryset.filter(letter__isnull=True)
        if self.value() == "yes":
            return queryset.filter(letter__isnull=False)
        return queryset


class ResponseMarkMixin:
    actions = [
        # One whole sentence per kind: a translator cannot inflect a spliced-in label.
        _mark_action(
            Response.Kind.FIXED_CLAIM,
            _("Mark as claims fixed (re-probe now)"),
            ngettext_lazy(
                "%(count)d response marked claims fixed (re-probe now).",
                "%(count)d responses marked claims fixed (re-probe now).",
                "count",
            ),
        ),
        _mark_action(
            Response.Kind.DISPUTE,
            _("Mark as dispute"),
            ngettext_lazy(
                "%(count)d response marked dispute.",
                "%(count)d responses marked dispute.",
                "count",
            ),
        ),
        _mark_action(
            Response.Kind.OPT_OUT,
            _("Mark as opt-out (do not contact)"),
            ngettext_lazy(
                "%(count)d response marked opt-out (do not contact).",
                "%(count)d responses marked opt-out (do not contact).",
                "count",
            ),
        ),
        _mark_action(
            Response.Kind.QUESTION,
            _("Mark as question"),
            ngettext_lazy(
                "%(count)d response marked question.",
                "%(count)d responses marked question.",
                "count",
            ),
        ),
    ]

    def save_model(self, request: HttpRequest, obj: Response, form: Any, change: bool) -> None:
        if not change:
            # A call, a letter or a web form counts exactly like the same email
            # would: recorded by the one service, with the same status rule.
            self._record(request, obj)
            return
        # Assigning a message from the unmatched queue acts on it as a match would.
        was_unmatched = form.initial.get("letter") is None
        super().save_model(request, obj, form, change)
        if was_unmatched and obj.letter_id is not None and obj.channel == Response.Channel.EMAIL:
            response_assign(response_id=obj.pk, letter_id=obj.letter_id, user_id=request.user.pk)

    def _record(self, request: HttpRequest, obj: Response) -> None:
        # The form's own object is stored, so nothing it holds is dropped and
        # the admin goes on with it (its log entry, the redirect).
        response_store(obj, actor=request.user, note="entered in the admin")
        if obj.letter_id is not None and obj.kind in ACTED_ON:
            # "Fixed" re-probes at once, "stop writing" stops all contact.
            response_mark(response_id=obj.pk, kind=obj.kind, user_id=request.user.pk)
