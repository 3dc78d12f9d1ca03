"""The base every admin class uses, so scoping cannot be forgotten.

Querysets, object permissions, foreign-key choices, list filters,
autocomplete, actions and saves all go through ``scope_queryset``, which
defaults to ``Model.objects.for_user(request.user)``. What ScopedAdmin
enforces without being asked:

- rows outside the user's scope answer 404, never a redirect that confirms
  they exist;
- models with no agency path (a ScopedQuerySet without ``agency_lookups``, or
  a model that is not scoped at all) are for investigators only;
- viewers never add, change or delete, whatever permissions they were given,
  and see only actions declared ``allowed_permissions = ("view",)``;
- foreign-key and many-to-many choices are what the target model's admin
  would show this user, so another agency's ids cannot be posted;
- a save that would move a row out of the user's scope is refused (403);
- plain related-field list filters only offer values the user can see.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

from outreach.roles import user_is_read_only
from outreach.scoping import ScopedQuerySet, user_sees_all


def scoped(model: type[models.Model], request: HttpRequest) -> models.QuerySet:
    """The rows of ``model`` this user may pick, e.g. as a foreign key."""
    model_admin = admin.site._registry.get(model)
    if isinstance(model_admin, ScopeMixin):
        return model_admin.get_queryset(request)
    queryset = model._default_manager.all()
    if isinstance(queryset, ScopedQuerySet):
        return queryset.for_user(request.user)
    return queryset if user_sees_all(request.user) else queryset.none()


class ScopeMixin:
    """What ScopedAdmin and ScopedInline share."""

    # None: partners may use this admin when the model has an agency path.
    # Admins of unscoped models that override scope_queryset set it to True.
    partner_access: bool | None = None

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        """The rows this user may see; override for models without a ScopedQuerySet."""
        if isinstance(queryset, ScopedQuerySet):
            return queryset.for_user(request.user)
        return queryset if user_sees_all(request.user) else queryset.none()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return self.scope_queryset(request, super().get_queryset(request))

    def partner_may_use(self) -> bool:
        if self.partner_access is not None:
            return self.partner_access
        queryset = self.model._default_manager.all()
        return isinstance(queryset, ScopedQuerySet) and bool(queryset.agency_lookups)

    def allowed(self, request: HttpRequest) -> bool:
        return self.partner_may_use() or user_sees_all(request.user)

    def may_write(self, request: HttpRequest) -> bool:
        return self.allowed(request) and not user_is_read_only(request.user)

    def _visible(self, request: HttpRequest, obj: models.Model | None) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

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
            and self._visible(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            self.may_write(request)
            and super().has_delete_permission(request, obj)
            and self._visible(request, obj)
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", scoped(db_field.related_model, request))
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
        self.has_model_perm(request, "approve_letter")``. Viewers never pass."""
        perm = f"{self.opts.app_label}.{codename}"
        return self.may_write(request) and request.user.has_perm(perm)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        """Plain relation filters list every related row: offer only those in scope."""
        return [self._scoped_filter(spec) for spec in super().get_list_filter(request)]

    def _scoped_filter(self, spec: Any) -> Any:
        # A path ("host__agency") or an explicit RelatedFieldListFilter would
        # list every related row across agencies, like a bare field name.
        if isinstance(spec, tuple) and spec[1] is admin.RelatedFieldListFilter:
            return (spec[0], ScopedRelatedFilter)
        if not isinstance(spec, str):
            return spec
        field = get_fields_from_path(self.model, spec)[-1]
        if field.is_relation:
            return (spec, ScopedRelatedFilter)
        return spec

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not user_is_read_only(request.user):
            return actions
        # An action that does not declare itself read-only may write: not for viewers.
        return {
            name: action
            for name, action in actions.items()
            if tuple(getattr(action[0], "allowed_permissions", ())) == ("view",)
        }

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # After inlines are saved, the row must still be the user's: otherwise
        # the admin's transaction rolls the whole save back.
        if not self._visible(request, form.instance):
            raise PermissionDenied


class ScopedInline(ScopeMixin, admin.TabularInline):
    extra = 0
    show_change_link = True

    def _visible(self, request: HttpRequest, obj: models.Model | None) -> bool:
        # Inline permission hooks receive the *parent* object, which the
        # parent admin has already scoped; the inline's rows are scoped by
        # get_queryset.
        return True


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
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
