"""The base every admin class uses, so scoping cannot be forgotten.

Querysets, object permissions and foreign-key choices all go through
``Model.objects.for_user(request.user)``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from outreach.scoping import ScopedQuerySet


def scoped(model: type[models.Model], request: HttpRequest) -> models.QuerySet:
    queryset = model._default_manager.all()
    if isinstance(queryset, ScopedQuerySet):
        return queryset.for_user(request.user)
    return queryset


class ScopedAdmin(admin.ModelAdmin):
    # Counting a million rows on every page load is what makes admins slow.
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if isinstance(queryset, ScopedQuerySet):
            return queryset.for_user(request.user)
        return queryset

    def _visible(self, request: HttpRequest, obj: models.Model | None) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._visible(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._visible(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._visible(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", scoped(db_field.related_model, request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", scoped(db_field.related_model, request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedInline(admin.TabularInline):
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if isinstance(queryset, ScopedQuerySet):
            return queryset.for_user(request.user)
        return queryset

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("queryset", scoped(db_field.related_model, request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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
