"""What of the audit log a user may read: scoped by object, not by actor.

An entry is visible when the object it is about is in the user's scope *now*
(the model's admin ``get_queryset``), whoever made it. Names of other objects
inside an entry (the related rows of a many-to-many change, the actor) are
shown only when those are in the user's scope too; otherwise they read as
redacted. The superuser (break-glass) reads everything.
"""

from __future__ import annotations

import copy
from typing import Any

from auditlog.filters import CIDFilter, ResourceTypeFilter
from auditlog.models import LogEntry
from auditlog.render import render_logentry_changes_html
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from outreach.admin_base import ScopedSimpleListFilter, ScopeMixin, scoped
from outreach.scoping import user_sees_all

REDACTED = "[redacted]"


def audit_entries_in_scope(request: HttpRequest) -> models.Q:
    """Entries whose object this user may see now, model by model."""
    condition = models.Q(pk__in=[])
    for model, model_admin in admin.site._registry.items():
        if model is LogEntry or not isinstance(model_admin, ScopeMixin):
            continue
        if not model_admin.allowed(request):
            continue
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        rows = model_admin.get_queryset(request).order_by()
        if isinstance(model._meta.pk, models.IntegerField | models.BigAutoField | models.AutoField):
            keys = models.Q(object_id__in=rows.values("pk"))
        else:
            text = rows.annotate(_pk_text=Cast("pk", models.CharField())).values("_pk_text")
            keys = models.Q(object_pk__in=text)
        condition |= models.Q(content_type=content_type) & keys
    return condition


def _visible_names(request: HttpRequest, model: type[models.Model]) -> set[str]:
    cache = request.__dict__.setdefault("_outreach_visible_names", {})
    if model not in cache:
        cache[model] = {str(row) for row in scoped(model, request)[:10_000]}
    return cache[model]


def changes_redacted(entry: LogEntry, request: HttpRequest) -> dict[str, Any]:
    """The entry's changes, with related objects out of scope redacted."""
    changes = copy.deepcopy(entry.changes_dict)
    model = entry.content_type.model_class()
    for name, change in changes.items():
        if not (isinstance(change, dict) and change.get("type") == "m2m") or model is None:
            continue
        related = model._meta.get_field(name).related_model
        names = _visible_names(request, related)
        change["objects"] = [o if o in names else REDACTED for o in change.get("objects", [])]
    return changes


class ScopedResourceTypeFilter(ScopedSimpleListFilter, ResourceTypeFilter):
    pass


class ScopedCIDFilter(ScopedSimpleListFilter, CIDFilter):
    pass


class AuditScopeMixin:
    """For the LogEntry admin: object-scoped rows, redacted names."""

    list_filter = ["action", ScopedResourceTypeFilter, ScopedCIDFilter]

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if user_sees_all(request.user):
            return queryset
        return queryset.filter(audit_entries_in_scope(request))

    @admin.display(description=_("Changes"))
    def msg(self, obj: LogEntry) -> str:
        if user_sees_all(self.request.user):
            return render_logentry_changes_html(obj)
        shown = copy.copy(obj)
        shown.changes, shown.changes_text = changes_redacted(obj, self.request), ""
        return render_logentry_changes_html(shown)

    @admin.display(description=_("User"))
    def user_url(self, obj: LogEntry) -> str:
        if obj.actor_id is None or user_sees_all(self.request.user):
            return super().user_url(obj)
        users = admin.site._registry[type(obj.actor)]
        if users.get_queryset(self.request).filter(pk=obj.actor_id).exists():
            return super().user_url(obj)
        return _("a user of another agency")
