"""What each agency role may do, as Django permissions, and in which agency.

A role belongs to a membership. Every permission check about a row asks which
agency owns the row and what the user's role is *in that agency*:
``role_for(user, agency)``. The model-level permissions below (the union over
a user's memberships) only say whether a page or an action may be offered at
all; which rows it may touch is decided per agency by
``ScopedQuerySet.writable_by`` and ``row_allows``.

A user's permissions follow from their memberships, so nobody has to keep
groups in step with roles:

- investigator (the lead agency's staff): every permission of the campaign's
  apps, the user admin and the audit log;
- coordinator: reads its agency's part, approves and sends its letters,
  handles its responses and contacts, and manages its agency's users;
- viewer: reads its agency's part (and its part of the audit log), nothing else.

What rows a permission applies to is decided by ``outreach.scoping``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib.auth.models import Permission

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

# Apps whose models the roles cover. A model a later stage adds to one of
# these apps is readable by partners at once; scoping decides which rows.
CAMPAIGN_APPS = ("outreach", "probes", "letters")
# Beyond reading, what a coordinator may do.
COORDINATOR_EXTRA = frozenset(
    {
        "letters.change_letter",
        "letters.approve_letter",
        "letters.send_letter",
        "letters.add_response",
        "letters.change_response",
        "outreach.change_contact",
        "outreach.add_membership",
        "outreach.change_membership",
        "outreach.delete_membership",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
    }
)
# Everyone with a role reads its agency's part of the audit log.
READ_EXTRA = frozenset({"auditlog.view_logentry"})
# Investigators additionally run the security side.
INVESTIGATOR_APPS = (*CAMPAIGN_APPS, "auth", "auditlog", "otp_totp", "axes")
_CACHE = "_outreach_role_perms"


def _membership_model() -> Any:
    # By name through the app registry: outreach.models imports outreach.scoping,
    # which imports this module.
    return apps.get_model("outreach", "Membership")


_ROLES_CACHE = "_outreach_roles"


def user_memberships(user: AnyUser) -> dict[int, str]:
    """Agency id → this user's role there, for active agencies (cached on the
    user object, which lives for one request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, _ROLES_CACHE, None)
    if cached is None:
        Membership = _membership_model()

        cached = dict(
            Membership.objects.filter(user_id=user.pk, agency__is_active=True).values_list(
                "agency_id", "role"
            )
        )
        setattr(user, _ROLES_CACHE, cached)
    return cached


def user_roles(user: AnyUser) -> set[str]:
    """Every role this user holds somewhere: only for what to *offer*, never
    for what a row allows (that is ``role_for``)."""
    return set(user_memberships(user).values())


def role_for(user: AnyUser, agency: Any) -> str | None:
    """The user's role in ``agency`` (an Agency or its id), or None.

    The one answer to "what may this user do with a row owned by this
    agency". A superuser (the break-glass account) is an investigator
    everywhere.
    """
    Membership = _membership_model()

    if getattr(user, "is_superuser", False) and user.is_active:
        return Membership.Role.INVESTIGATOR
    agency_id = getattr(agency, "pk", agency)
    return user_memberships(user).get(agency_id) if agency_id is not None else None


def role_allows(role: str | None, perm: str) -> bool:
    """Whether ``role`` grants ``perm`` ("app.codename")."""
    return bool(role) and perm in _role_perms(role)


def agencies_allowing(user: AnyUser, perm: str) -> list[int]:
    """The agencies in which this user's own role grants ``perm``.

    A permission given to the user by hand applies where the user writes at
    all (coordinator or investigator), never where they are a viewer.
    """
    Membership = _membership_model()

    by_hand = perm in _granted_by_hand(user)
    return [
        agency
        for agency, role in user_memberships(user).items()
        if role_allows(role, perm) or (by_hand and role != Membership.Role.VIEWER)
    ]


def _granted_by_hand(user: AnyUser) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    from django.contrib.auth.backends import ModelBackend

    return ModelBackend().get_all_permissions(user)


def lead_agency_ids(user: AnyUser) -> list[int]:
    """The agencies in which this user is an investigator (the lead agency's staff)."""
    Membership = _membership_model()

    return [a for a, role in user_memberships(user).items() if role == Membership.Role.INVESTIGATOR]


_PERMS_BY_ROLE: dict[str, set[str]] = {}


def _role_perms(role: str) -> set[str]:
    # Permissions change only with migrations: cache per process and role
    # (but never an empty answer, as from a database not migrated yet).
    if not _PERMS_BY_ROLE.get(role):
        _PERMS_BY_ROLE[role] = role_permissions({role})
    return _PERMS_BY_ROLE[role]


def user_is_read_only(user: AnyUser) -> bool:
    """True for viewers, whatever permissions they were given by hand."""
    if getattr(user, "is_superuser", False):
        return False
    Membership = _membership_model()

    return not user_roles(user) & {Membership.Role.INVESTIGATOR, Membership.Role.COORDINATOR}


def user_is_investigator(user: AnyUser) -> bool:
    """An investigator somewhere (or the superuser): may open investigator-only pages."""
    return getattr(user, "is_superuser", False) or bool(lead_agency_ids(user))


def _perms_of_apps(apps: tuple[str, ...]) -> set[str]:
    rows = Permission.objects.filter(content_type__app_label__in=apps).values_list(
        "content_type__app_label", "codename"
    )
    return {f"{app}.{codename}" for app, codename in rows}


def role_permissions(roles: set[str]) -> set[str]:
    """The permission names ("app.codename") these roles grant together."""
    Membership = _membership_model()

    if Membership.Role.INVESTIGATOR in roles:
        return _perms_of_apps(INVESTIGATOR_APPS)
    if not roles:
        return set()
    readable = {p for p in _perms_of_apps(CAMPAIGN_APPS) if p.split(".")[1].startswith("view_")}
    readable |= READ_EXTRA
    if Membership.Role.COORDINATOR in roles:
        return readable | COORDINATOR_EXTRA
    return readable


class RolePermissionBackend:
    """An authentication backend that authenticates nobody and grants by role."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        if not hasattr(user_obj, _CACHE):
            setattr(user_obj, _CACHE, role_permissions(user_roles(user_obj)))
        return getattr(user_obj, _CACHE)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
