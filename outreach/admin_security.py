"""Scoped admins for users, memberships' roles, the audit log and the
security apps' own models (lockouts, TOTP devices).

The security apps register plain ModelAdmins; they are replaced here by
ScopedAdmin subclasses so the access rules hold for them too.
"""

from __future__ import annotations

from typing import Any

from auditlog.admin import LogEntryAdmin as AuditlogEntryAdmin
from auditlog.models import LogEntry
from axes.admin import (
    AccessAttemptAdmin,
    AccessFailureLogAdmin,
    AccessLogAdmin,
    IsLockedOutFilter,
)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from outreach.admin_base import ScopedAdmin, ScopedInline, ScopedSimpleListFilter
from outreach.audit_scope import AuditScopeMixin
from outreach.models import Agency, Membership
from outreach.roles import lead_agency_ids, role_for, user_is_investigator
from outreach.scoping import user_sees_all

User = get_user_model()


class MembershipRules:
    """Who may grant which role.

    A membership is written only where the user's own role in *its* agency
    allows it (ScopedAdmin), and the investigator role only by an
    investigator of that very agency: a coordinator never makes an
    investigator, and nobody grants anything in an agency where they are
    only a viewer.
    """

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "role" and not user_is_investigator(request.user):
            kwargs["choices"] = [
                choice
                for choice in Membership.Role.choices
                if choice[0] != Membership.Role.INVESTIGATOR
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def _touches_investigator(self, request: HttpRequest, obj: Any) -> bool:
        if not isinstance(obj, Membership) or request.user.is_superuser:
            return False
        if obj.user.is_superuser:
            return True
        return (
            obj.role == Membership.Role.INVESTIGATOR
            and role_for(request.user, obj.agency_id) != Membership.Role.INVESTIGATOR
        )

    def row_write_allowed(self, request: HttpRequest, obj: Any, action: str) -> bool:
        return super().row_write_allowed(request, obj, action) and not self._touches_investigator(
            request, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not self._touches_investigator(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._touches_investigator(
            request, obj
        )


class UserMembershipInline(MembershipRules, ScopedInline):
    model = Membership
    fields = ["agency", "role"]
    fk_name = "user"

    def get_min_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        # A partner's new user must belong to one of the partner's agencies;
        # investigators may create a login first and place it later.
        return 0 if user_is_investigator(request.user) else 1


def _managed_by(user: Any) -> models.Q:
    """Users this user may edit: every membership of theirs is in an agency
    where this user's role allows changing users, none is an investigator's
    unless this user is an investigator of that agency, and no superuser."""
    writable = Agency.objects.writable_by(user, "auth.change_user").values("pk")
    foreign = Membership.objects.exclude(agency__in=writable)
    elevated = Membership.objects.filter(role=Membership.Role.INVESTIGATOR).exclude(
        agency_id__in=lead_agency_ids(user)
    )
    return (
        ~models.Q(pk__in=foreign.values("user_id"))
        & ~models.Q(pk__in=elevated.values("user_id"))
        & models.Q(is_superuser=False)
    )


admin.site.unregister(User)
# Roles come from memberships (outreach.roles); groups would be a second truth.
admin.site.unregister(Group)


@admin.register(User)
class OutreachUserAdmin(ScopedAdmin, UserAdmin):
    partner_access = True
    inlines = [UserMembershipInline]
    list_filter = ["is_active", "is_staff"]
    partner_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("is_active", "last_login", "date_joined")}),
    )

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        """Members of the agencies this user sees; investigators also see
        users who belong to no agency yet."""
        if user_sees_all(request.user):
            return queryset
        agencies = Agency.objects.for_user(request.user).values("pk")
        members = models.Q(pk__in=Membership.objects.filter(agency__in=agencies).values("user_id"))
        if user_is_investigator(request.user):
            members |= ~models.Q(pk__in=Membership.objects.values("user_id"))
        return queryset.filter(members)

    def writable_queryset(self, request: HttpRequest, action: str) -> models.QuerySet:
        rows = super().writable_queryset(request, action)
        return rows if user_sees_all(request.user) else rows.filter(_managed_by(request.user))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.partner_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["last_login", "date_joined"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Every login of ours is an admin login; only superusers make superusers.
        obj.is_staff = True
        if not request.user.is_superuser:
            obj.is_superuser = False
        super().save_model(request, obj, form, change)


class AuditLogAdmin(AuditScopeMixin, ScopedAdmin, AuditlogEntryAdmin):
    """An entry is visible when its object is in the user's scope now, and
    names in it are redacted unless they are in scope too (outreach.audit_scope)."""

    partner_access = True


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, AuditLogAdmin)


class ScopedLockedOutFilter(ScopedSimpleListFilter, IsLockedOutFilter):
    pass


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(ScopedAdmin, AccessAttemptAdmin):
    list_filter = [
        ScopedLockedOutFilter if spec is IsLockedOutFilter else spec
        for spec in AccessAttemptAdmin.list_filter
    ]


@admin.register(AccessLog)
class LoginLogAdmin(ScopedAdmin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class LoginFailureAdmin(ScopedAdmin, AccessFailureLogAdmin):
    pass


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TwoFactorDeviceAdmin(ScopedAdmin, TOTPDeviceAdmin):
    raw_id_fields = ["user"]
