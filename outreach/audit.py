"""Audit records for the paths django-auditlog cannot see.

auditlog records saves and deletes through model signals. Bulk paths
(``QuerySet.update``, ``bulk_create``, exports, approving ten thousand letters
at once) send no signals, so they call this module instead. Each record is an
ordinary auditlog ``LogEntry``: one log, one admin, one retention policy.

Every record carries ``additional_data["agency"]`` (the agency that owns the
row, when it has one) so an agency can read its own part of the log, and
``additional_data["event"]`` naming what happened ("approve", "send",
"export", "status", ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditlog.context import auditlog_value
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from outreach.scoping import ScopedQuerySet

BATCH = 2000
Action = LogEntry.Action


def _agency_path(model: type[models.Model], agency_path: str | None) -> str | None:
    if agency_path is not None:
        return agency_path or None
    queryset = model._default_manager.all()
    lookups = queryset.agency_lookups if isinstance(queryset, ScopedQuerySet) else ()
    return lookups[0] if lookups else None


def _entry(
    *,
    content_type: ContentType,
    pk: Any,
    agency_id: Any,
    actor: Any,
    action: int,
    event: str,
    changes: dict[str, list[Any]] | None,
    note: str,
) -> LogEntry:
    data: dict[str, Any] = {"event": event, "bulk": True}
    if agency_id is not None:
        data["agency"] = agency_id
    if note:
        data["note"] = note
    return LogEntry(
        content_type=content_type,
        object_pk=str(pk),
        object_id=pk if isinstance(pk, int) else None,
        object_repr=f"{content_type.model} #{pk}",
        action=action,
        changes=changes or {},
        changes_text="",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_email=getattr(actor, "email", None) or None,
        additional_data=data,
        **_request_context(),
    )


def _request_context() -> dict[str, Any]:
    """Address, port and correlation id of the request being served, as
    auditlog's middleware noted them (bulk_create skips its signal)."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return {}
    fields = {}
    for key in ("remote_addr", "remote_port", "cid"):
        value = context.get(key)
        fields[key] = value() if callable(value) else value
    return fields


def audit_record(
    *,
    actor: Any,
    queryset: models.QuerySet,
    event: str,
    action: int = Action.UPDATE,
    changes: dict[str, list[Any]] | None = None,
    note: str = "",
    agency_path: str | None = None,
) -> int:
    """Record one log entry per row of ``queryset``; returns how many.

    ``event`` names what happened ("approve", "send", "export"...), ``changes``
    maps a field to ``[old, new]`` when every row changed alike, and
    ``agency_path`` overrides the ORM path to the owning agency (by default the
    first of the model's ``agency_lookups``). Call it inside the transaction
    that does the work, so the work and its record commit together.
    """
    content_type = ContentType.objects.get_for_model(queryset.model)
    path = _agency_path(queryset.model, agency_path)
    fields = ["pk", path] if path else ["pk"]
    count = 0
    batch: list[LogEntry] = []
    for row in queryset.order_by().values_list(*fields).iterator(chunk_size=BATCH):
        batch.append(
            _entry(
                content_type=content_type,
                pk=row[0],
                agency_id=row[1] if path else None,
                actor=actor,
                action=action,
                event=event,
                changes=changes,
                note=note,
            )
        )
        if len(batch) >= BATCH:
            count += len(LogEntry.objects.bulk_create(batch))
            batch = []
    return count + len(LogEntry.objects.bulk_create(batch))


@transaction.atomic
def audit_update(
    *, actor: Any, queryset: models.QuerySet, event: str, note: str = "", **values: Any
) -> int:
    """``queryset.update(**values)`` that records each row's old and new values.

    Returns the number of rows updated. Use it for bulk status changes such as
    approving letters or marking hosts fixed.
    """
    content_type = ContentType.objects.get_for_model(queryset.model)
    path = _agency_path(queryset.model, None)
    names = list(values)
    rows = list(queryset.order_by().values_list("pk", *([path] if path else []), *names))
    entries = [
        _changed_entry(content_type, row, bool(path), names, values, actor, event, note)
        for row in rows
    ]
    updated = queryset.model._default_manager.filter(pk__in=[row[0] for row in rows]).update(
        **values
    )
    for start in range(0, len(entries), BATCH):
        LogEntry.objects.bulk_create(entries[start : start + BATCH])
    return updated


def _changed_entry(
    content_type: ContentType,
    row: Sequence[Any],
    has_agency: bool,
    names: list[str],
    values: dict[str, Any],
    actor: Any,
    event: str,
    note: str,
) -> LogEntry:
    offset = 2 if has_agency else 1
    changes = {
        name: [str(row[offset + i]), str(values[name])]
        for i, name in enumerate(names)
        if row[offset + i] != values[name]
    }
    return _entry(
        content_type=content_type,
        pk=row[0],
        agency_id=row[1] if has_agency else None,
        actor=actor,
        action=Action.UPDATE,
        event=event,
        changes=changes,
        note=note,
    )


def audit_event(
    *, actor: Any, obj: models.Model, event: str, note: str = "", agency_id: Any = None
) -> LogEntry:
    """Record one event about one object that changed nothing (a download, a send)."""
    content_type = ContentType.objects.get_for_model(obj)
    if agency_id is None:
        agency_id = _own_agency_id(obj)
    entry = _entry(
        content_type=content_type,
        pk=obj.pk,
        agency_id=agency_id,
        actor=actor,
        action=Action.ACCESS,
        event=event,
        changes=None,
        note=note,
    )
    entry.additional_data["bulk"] = False
    entry.object_repr = str(obj)[:200]
    entry.save()
    return entry


def _own_agency_id(obj: models.Model) -> Any:
    """The id of the agency owning ``obj``, following its first agency path."""
    path = _agency_path(type(obj), None)
    if not path:
        return None
    *hops, last = path.split("__")
    for hop in hops:
        field = type(obj)._meta.get_field(hop)
        if field.many_to_many or field.one_to_many:
            return None
        obj = getattr(obj, hop)
        if obj is None:
            return None
    field = type(obj)._meta.get_field(last)
    if field.primary_key:  # an Agency is its own agency
        return obj.pk
    return getattr(obj, field.attname, None) if field.concrete and not field.many_to_many else None


def log_entry_tag_agency(
    sender: Any, log_entry: Any = None, instance: Any = None, **kwargs: Any
) -> None:
    """auditlog's post_log receiver: note the owning agency on each entry, so the
    agency can read what was done to its rows (connected in OutreachConfig.ready)."""
    if log_entry is None or instance is None:
        return
    agency_id = _own_agency_id(instance)
    if agency_id is None:
        return
    data = {**(log_entry.additional_data or {}), "agency": agency_id}
    LogEntry.objects.filter(pk=log_entry.pk).update(additional_data=data)
    log_entry.additional_data = data
