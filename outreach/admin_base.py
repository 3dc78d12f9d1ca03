"""The base every admin class uses, so scoping cannot be forgotten.

Querysets, object permissions, foreign-key choices, raw-ID labels, list
filters, autocomplete, actions and saves all go through ``scope_queryset``
(``Model.objects.for_user(request.user)``) for what may be *seen* and
``writable_queryset`` (``Model.objects.writable_by(user, perm)``, the user's
role in the row's owning agency) for what may be *changed*. What ScopedAdmin
enforces without being asked:

- rows outside the user's scope answer 404, never a redirect that confirms
  they exist;
- models with no agency path (a ScopedQuerySet without ``agency_lookups``, or
  a model that is not scoped at all) are for investigators only;
- a row is changed or deleted only where the user's role in the agency that
  owns it allows it: a coordinator of A who is a viewer of B reads B's rows
  and never writes them; actions act only on the selected rows the user may
  write; a save (with its inlines) whose rows end up outside what the user
  may write is refused (403) and rolled back;
- viewers never add, change or delete, whatever permissions they were given,
  and see only actions declared ``allowed_permissions = ("view",)``;
- foreign-key and many-to-many choices are what the target model's admin
  would show this user, so another agency's ids cannot be posted, and a
  raw-ID field labels only rows the user may see;
- every list filter derives from ``ScopedListFilter``: plain field names and
  Django's own filter classes are swapped for scoped ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin import filters as admin_filters
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest

from outreach.roles import user_is_investigator, user_is_read_only
from outreach.scoping import ScopedQuerySet


def scoped(model: type[models.Model], request: HttpRequest) -> models.QuerySet:
    """The rows of ``model`` this user may see, e.g. to pick as a foreign key."""
    model_admin = admin.site._registry.get(model)
    if isinstance(model_admin, ScopeMixin):
        return model_admin.get_queryset(request)
    queryset = model._default_manager.all()
    if isinstance(queryset, ScopedQuerySet):
        return queryset.for_user(request.user)
    return queryset if user_is_investigator(request.user) else queryset.none()


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-ID field whose label is looked up through the user's scope.

    Django's widget labels any id with the model's default manager, so
    ``?letter=<another agency's id>`` or a posted foreign id printed that
    row's name next to the field even though saving was refused.
    """

    def __init__(self, rel: Any, admin_site: Any, *, rows: models.QuerySet, **kwargs: Any) -> None:
        super().__init__(rel, admin_site, **kwargs)
        self.rows = rows

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        key = self.rel.get_related_field().name
        try:
            in_scope = self.rows.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            in_scope = False
        return super().label_and_url_for_value(value) if in_scope else ("", "")


class ScopeMixin:
    """What ScopedAdmin and ScopedInline share."""

    # None: partners may use this admin when the model has an agency path.
    # Admins of unscoped models that override scope_queryset set it to True.
    partner_access: bool | None = None

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        """The rows this user may see; override for models without a ScopedQuerySet."""
        if isinstance(queryset, ScopedQuerySet):
            return queryset.for_user(request.user)
        return queryset if user_is_investigator(request.user) else queryset.none()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return self.scope_queryset(request, super().get_queryset(request))

    def writable_queryset(self, request: HttpRequest, action: str) -> models.QuerySet:
        """The visible rows on which this user may ``action`` ("change",
        "delete", "add", or a custom codename such as "approve_letter"):
        decided by the user's role in each row's owning agency."""
        perm = self.perm_name(action)
        rows = self.get_queryset(request)
        if isinstance(rows, ScopedQuerySet):
            return rows.writable_by(request.user, perm)
        return rows if request.user.has_perm(perm) else rows.none()

    def perm_name(self, action: str) -> str:
        codename = action if "_" in action else get_permission_codename(action, self.opts)
        return f"{self.opts.app_label}.{codename}"

    def row_write_allowed(self, request: HttpRequest, obj: models.Model, action: str) -> bool:
        """May this user ``action`` this row? Subclasses add their own rules."""
        return self.writable_queryset(request, action).filter(pk=obj.pk).exists()

    def partner_may_use(self) -> bool:
        if self.partner_access is not None:
            return self.partner_access
        queryset = self.model._default_manager.all()
        return isinstance(queryset, ScopedQuerySet) and bool(queryset.agency_lookups)

    def allowed(self, request: HttpRequest) -> bool:
        return self.partner_may_use() or user_is_investigator(request.user)

    def may_write(self, request: HttpRequest) -> bool:
        return self.allowed(request) and not user_is_read_only(request.user)

    def _visible(self, request: HttpRequest, obj: models.Model | None) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def _writable(self, request: HttpRequest, obj: models.Model | None, action: str) -> bool:
        return obj is None or self.row_write_allowed(request, obj, action)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            self.allowed(request)
            and super().has_view_permission(request, obj)
            and self._visible(request, obj)
        )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.may_write(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            self.may_write(request)
            and super().has_change_permission(request, obj)
            and self._writable(request, obj, "change")
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            self.may_write(request)
            and super().has_delete_permission(request, obj)
            and self._writable(request, obj, "delete")
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", scoped(db_field.related_model, request))
        if db_field.name in self.raw_id_fields and "widget" not in kwargs:
            kwargs["widget"] = ScopedRawIdWidget(
                db_field.remote_field, self.admin_site, rows=kwargs["queryset"]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", scoped(db_field.related_model, request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedAdmin(ScopeMixin, admin.ModelAdmin):
    # Counting a million rows on every page load is what makes admins slow.
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    # An action's permission name when it is not "<name>_<model>", e.g.
    # {"export": "send_letter"}.
    permission_codenames: dict[str, str] = {}

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.allowed(request) and super().has_module_permission(request)

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> Any:
        # Django redirects with "doesn't exist": for another agency's row that
        # still says too much. Out of scope and missing look the same: 404.
        raise Http404

    def has_model_perm(self, request: HttpRequest, codename: str) -> bool:
        """For custom actions: ``allowed_permissions = ("approve",)`` plus
        ``def has_approve_permission(self, request): return
        self.has_model_perm(request, "approve_letter")``. Viewers never pass.
        Which selected rows the action then touches is decided per agency."""
        perm = f"{self.opts.app_label}.{codename}"
        return self.may_write(request) and request.user.has_perm(perm)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        """Every filter derives from ScopedListFilter (see ``scoped_filter``)."""
        return [scoped_filter(self.model, spec) for spec in super().get_list_filter(request)]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if user_is_read_only(request.user):
            # An action that does not declare itself read-only may write: not for viewers.
            actions = {
                name: action
                for name, action in actions.items()
                if tuple(getattr(action[0], "allowed_permissions", ())) == ("view",)
            }
        return {
            name: (self._on_writable_rows(action[0]), *action[1:])
            for name, action in actions.items()
        }

    def _on_writable_rows(self, func: Callable) -> Callable:
        """An action acts only on the selected rows the user may write, by the
        user's role in each row's owning agency (a coordinator of A who views
        B selects B's rows in vain)."""
        needed = [p for p in getattr(func, "allowed_permissions", ()) if p != "view"]
        if not needed:
            return func

        @wraps(func)
        def action(model_admin: Any, request: HttpRequest, queryset: models.QuerySet) -> Any:
            for permission in needed:
                codename = self.permission_codenames.get(permission, permission)
                rows = self.writable_queryset(request, codename)
                queryset = queryset.filter(pk__in=rows.values("pk"))
            return func(model_admin, request, queryset)

        return action

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # After inlines are saved, the row must still be one the user may
        # write: otherwise the admin's transaction rolls the whole save back.
        if not self.row_write_allowed(request, form.instance, "change" if change else "add"):
            raise PermissionDenied

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        inline = _inline_for(self, request, formset.model)
        for deleted in formset.deleted_forms:
            if deleted.instance.pk and not inline.row_write_allowed(
                request, deleted.instance, "delete"
            ):
                raise PermissionDenied
        super().save_formset(request, form, formset, change)
        saved = [*formset.new_objects, *(obj for obj, _fields in formset.changed_objects)]
        for obj in saved:
            new = obj in formset.new_objects
            if not inline.row_write_allowed(request, obj, "add" if new else "change"):
                raise PermissionDenied


def _inline_for(model_admin: ScopedAdmin, request: HttpRequest, model: Any) -> ScopeMixin:
    for inline in model_admin.get_inline_instances(request):
        if inline.model is model and isinstance(inline, ScopeMixin):
            return inline
    raise ImproperlyConfigured(f"{type(model_admin).__name__}: inline for {model} is not scoped")


class ScopedInline(ScopeMixin, admin.TabularInline):
    extra = 0
    show_change_link = True

    def _visible(self, request: HttpRequest, obj: models.Model | None) -> bool:
        # Inline permission hooks receive the *parent* object, which the
        # parent admin has already scoped; the inline's rows are scoped by
        # get_queryset, and each saved row by ScopedAdmin.save_formset.
        return True

    def _writable(self, request: HttpRequest, obj: models.Model | None, action: str) -> bool:
        return True


# --- list filters ------------------------------------------------------------


class ScopedListFilter:
    """The base of every list filter in the project.

    Whatever rows a filter returns are cut back to the rows this admin shows
    the user, so a custom filter that builds its own queryset cannot bypass
    scoping; filters with choices from another model take them from
    ``scoped()``. A test fails when a registered admin uses a filter that does
    not derive from this class.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass's own queryset() is wrapped as it is defined, so even a
        # filter that ignores the queryset it is given returns scoped rows.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("queryset")
        if own is not None and not getattr(own, "scoped_rows", False):
            cls.queryset = _cut_back(own)

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> Any:
        return super().queryset(request, queryset)


def _cut_back(method: Callable) -> Callable:
    @wraps(method)
    def queryset(self: Any, request: HttpRequest, rows: models.QuerySet) -> Any:
        filtered = method(self, request, rows)
        if filtered is None or not getattr(self, "used_parameters", None):
            return filtered
        return filtered & scoped(rows.model, request)

    queryset.scoped_rows = True
    return queryset


ScopedListFilter.queryset = _cut_back(ScopedListFilter.queryset)


class ScopedSimpleListFilter(ScopedListFilter, admin.SimpleListFilter):
    """For custom filters: subclass this, never SimpleListFilter."""


class ScopedRelatedFilter(ScopedListFilter, admin.RelatedFieldListFilter):
    """Offer only the related rows the user may see.

    Django's RelatedFieldListFilter lists every agency (across tenants) and
    RelatedOnlyFieldListFilter runs SELECT DISTINCT over the whole table,
    which is slow with a million hosts. This asks the small side instead.
    """

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list:
        ordering = self.field_admin_ordering(field, request, model_admin)
        rows = scoped(field.related_model, request)
        if ordering:
            rows = rows.order_by(*ordering)
        return [(row.pk, str(row)) for row in rows]


class ScopedBooleanFilter(ScopedListFilter, admin.BooleanFieldListFilter):
    pass


class ScopedChoicesFilter(ScopedListFilter, admin.ChoicesFieldListFilter):
    pass


class ScopedDateFilter(ScopedListFilter, admin.DateFieldListFilter):
    pass


class ScopedAllValuesFilter(ScopedListFilter, admin.AllValuesFieldListFilter):
    """Its values come from the admin's (scoped) queryset."""


class ScopedEmptyFilter(ScopedListFilter, admin.EmptyFieldListFilter):
    pass


SCOPED_FILTERS: dict[type, type] = {
    admin.RelatedFieldListFilter: ScopedRelatedFilter,
    admin.RelatedOnlyFieldListFilter: ScopedRelatedFilter,
    admin.BooleanFieldListFilter: ScopedBooleanFilter,
    admin.ChoicesFieldListFilter: ScopedChoicesFilter,
    admin.DateFieldListFilter: ScopedDateFilter,
    admin.AllValuesFieldListFilter: ScopedAllValuesFilter,
    admin.EmptyFieldListFilter: ScopedEmptyFilter,
}


def scoped_filter(model: type[models.Model], spec: Any) -> Any:
    """``spec`` as a list_filter entry whose class derives from ScopedListFilter.

    A field name becomes (name, the scoped twin of the class Django would
    pick); Django's own classes become their scoped twins; a custom class is
    kept as it is (the filter test then fails unless it derives from
    ScopedListFilter).
    """
    if isinstance(spec, str):
        field = get_fields_from_path(model, spec)[-1]
        for test, filter_class in admin_filters.FieldListFilter._field_list_filters:
            if test(field):
                return (spec, SCOPED_FILTERS.get(filter_class, filter_class))
        return spec
    if isinstance(spec, tuple):
        return (spec[0], SCOPED_FILTERS.get(spec[1], spec[1]))
    return spec


class IPSearchMixin:
    """Search an IP column by exact, indexed equality when the query is an IP.

    Django's "=ip" search becomes UPPER(ip::text) = UPPER(...), which cannot
    use the index on a million-row table.
    """

    ip_search_field = "ip"

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet, search_term: str
    ) -> tuple[models.QuerySet, bool]:
        term = search_term.strip()
        try:
            ip = ipaddress.ip_address(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(**{self.ip_search_field: str(ip)}), False
