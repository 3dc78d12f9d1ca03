"""The one path that decides what a user may see: ``Model.objects.for_user(user)``.

Every queryset class below names, in ``agency_lookups``, the ORM paths from its
model to the Agency that owns a row (the first path is the owner of a write,
e.g. a letter's signing agency), and in ``campaign_lookups`` the paths to the
campaigns the row belongs to. A user sees a row when

- one of its agency paths reaches an agency the user is a member of, or
- the user is an investigator of an agency that leads one of the row's
  campaigns (every agency's part of the campaigns their agency leads), or
- the user is an investigator and the row belongs to no agency yet (the
  unassigned pool that only the lead's staff work on).

A user may *write* a row (``writable_by``) only where their role in the
row's owning agency grants the permission, or where they are an investigator
of the agency leading the row's campaign. The superuser is a break-glass
account and sees everything. Admin classes, views, exports and tasks acting
for a user all go through this.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, ClassVar

from django.db import models

from outreach.roles import agencies_allowing, lead_agency_ids, role_allows, user_memberships

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

INVESTIGATOR = "investigator"


def user_sees_all(user: AnyUser) -> bool:
    """Only the superuser (break-glass) sees every row of every campaign."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def user_agency_ids(user: AnyUser) -> list[int]:
    """The agencies this user is a member of, whatever the role."""
    return list(user_memberships(user))


class ScopedQuerySet(models.QuerySet):
    # ORM paths from this model to an Agency id, e.g. ("agency",) or
    # ("lead_agency", "partners"); the first owns writes. An empty tuple means
    # investigators only.
    agency_lookups: ClassVar[tuple[str, ...]] = ()
    # ORM paths from this model to a Campaign ("" for a Campaign itself).
    campaign_lookups: ClassVar[tuple[str, ...]] = ()

    def for_user(self, user: AnyUser) -> ScopedQuerySet:
        if user_sees_all(user):
            return self.all()
        terms = self._owned_by(user_agency_ids(user))
        leads = lead_agency_ids(user)
        if leads:
            terms += self._led_by(leads)
        return self._where(terms)

    def writable_by(self, user: AnyUser, perm: str) -> ScopedQuerySet:
        """The rows on which ``perm`` ("app.codename") may be used: the user's
        role in the row's *owning* agency must grant it, or the user leads the
        row's campaign as an investigator."""
        if user_sees_all(user):
            return self.all()
        owners = agencies_allowing(user, perm)
        terms = [self._owner_in(owners)] if owners and self.agency_lookups else []
        leads = lead_agency_ids(user)
        if leads and role_allows(INVESTIGATOR, perm):
            terms += self._led_by(leads)
        return self._where(terms)

    def for_agencies(self, agency_ids: list[int]) -> ScopedQuerySet:
        return self._where(self._owned_by(agency_ids))

    # --- building the conditions -------------------------------------------

    def _owner_in(self, agency_ids: list[int]) -> models.Q:
        return models.Q(**{f"{self.agency_lookups[0]}__in": agency_ids})

    def _owned_by(self, agency_ids: list[int]) -> list[models.Q]:
        if not agency_ids:
            return []
        return [models.Q(**{f"{path}__in": agency_ids}) for path in self.agency_lookups]

    def _led_by(self, leads: list[int]) -> list[models.Q]:
        if not self.agency_lookups:
            return [models.Q(pk__isnull=False)]  # an investigators-only model
        terms = [
            models.Q(**{f"{path}__lead_agency__in" if path else "lead_agency__in": leads})
            for path in self.campaign_lookups
        ]
        unowned = [models.Q(**{f"{path}__isnull": True}) for path in self.agency_lookups]
        return [*terms, reduce(lambda a, b: a & b, unowned)]

    def _where(self, terms: list[models.Q]) -> ScopedQuerySet:
        if not terms:
            return self.none()
        condition = reduce(or_, terms)
        if len(terms) == 1:  # one path, never through a many-to-many relation
            return self.filter(condition)
        # Several paths (some through many-to-many relations) can reach a row
        # twice: keep rows unique without DISTINCT, which is slow on big
        # tables and breaks ordering.
        return self.filter(pk__in=self.model._base_manager.filter(condition).values("pk"))
