"""The one path that decides what a user may see: ``Model.objects.for_user(user)``.

Every queryset class below names, in ``agency_lookups``, the ORM paths from its
model to the Agency that owns a row. A user sees a row when one of those
paths reaches one of the user's agencies. Investigators (the lead agency's
staff) and superusers see everything; a user with no membership sees nothing.
Admin classes, views, exports and tasks acting for a user all go through this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def _membership_model() -> type[models.Model]:
    # By name through the app registry: outreach.models imports this module.
    return apps.get_model("outreach", "Membership")


def user_sees_all(user: AnyUser) -> bool:
    """Superusers and investigators see every agency's rows."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    membership = _membership_model()
    return membership.objects.filter(
        user_id=user.pk, role=membership.Role.INVESTIGATOR, agency__is_active=True
    ).exists()


def user_agency_ids(user: AnyUser) -> list[int]:
    """The agencies whose part of the campaign this user may see."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return list(
        _membership_model()
        .objects.filter(user_id=user.pk, agency__is_active=True)
        .values_list("agency_id", flat=True)
    )


class ScopedQuerySet(models.QuerySet):
    # ORM paths from this model to an Agency id, e.g. ("agency",) or
    # ("lead_agency", "partners"). An empty tuple means investigators only.
    agency_lookups: ClassVar[tuple[str, ...]] = ()

    def for_user(self, user: AnyUser) -> ScopedQuerySet:
        if user_sees_all(user):
            return self.all()
        return self.for_agencies(user_agency_ids(user))

    def for_agencies(self, agency_ids: list[int]) -> ScopedQuerySet:
        if not agency_ids or not self.agency_lookups:
            return self.none()
        condition = models.Q()
        for path in self.agency_lookups:
            condition |= models.Q(**{f"{path}__in": agency_ids})
        if len(self.agency_lookups) == 1:
            return self.filter(condition)
        # Several paths can reach the same agency twice: keep rows unique
        # without DISTINCT, which is slow on big tables and breaks ordering.
        return self.filter(pk__in=self.model._base_manager.filter(condition).values("pk"))
