"""Scoped admins for users, memberships' roles, the audit log and the
security apps' own models (lockouts, TOTP devices).

The security apps register plain ModelAdmins; they are replaced here by
ScopedAdmin subclasses so the access rules hold for them too.
"""

from __future__ import annotations

from typing import Any

from auditlog.admin import LogEntryAdmin as AuditlogEntryAdmin
from auditlog.models import LogEntry
from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from outreach.admin_base import ScopedAdmin, ScopedInline
from outreach.models import Membership
from outreach.roles import user_is_investigator
from outreach.scoping import user_agency_ids, user_sees_all

User = get_user_model()


class MembershipRules:
    """Partners manage their agency's memberships but never an investigator's."""

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "role" and not user_is_investigator(request.user):
            kwargs["choices"] = [
                choice
                for choice in Membership.Role.choices
                if choice[0] != Membership.Role.INVESTIGATOR
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def _touches_investigator(self, request: HttpRequest, obj: Any) -> bool:
        return (
            isinstance(obj, Membership)
            and not user_is_investigator(request.user)
            and (obj.role == Membership.Role.INVESTIGATOR or obj.user.is_superuser)
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
        # A partner's new user must belong to one of the partner's agencies.
        return 0 if user_sees_all(request.user) else 1


def _managed_by(user: Any) -> models.Q:
    """Users a coordinator may edit: only in its agencies, never an investigator."""
    foreign = Membership.objects.exclude(agency_id__in=user_agency_ids(user))
    elevated = Membership.objects.filter(role=Membership.Role.INVESTIGATOR)
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
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "last_login", "date_joined")}),
    )

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if user_sees_all(request.user):
            return queryset
        members = Membership.objects.filter(agency_id__in=user_agency_ids(request.user))
        return queryset.filter(pk__in=members.values("user_id"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed or user_is_investigator(request.user):
            return allowed
        return User.objects.filter(_managed_by(request.user), pk=obj.pk).exists()

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


class AuditLogAdmin(ScopedAdmin, AuditlogEntryAdmin):
    """Investigators read the whole log; an agency reads what its people did
    and what outreach.audit recorded for its rows."""

    partner_access = True

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if user_sees_all(request.user):
            return queryset
        agency_ids = user_agency_ids(request.user)
        members = Membership.objects.filter(agency_id__in=agency_ids).values("user_id")
        return queryset.filter(
            models.Q(actor_id__in=members) | models.Q(additional_data__agency__in=agency_ids)
        )


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, AuditLogAdmin)


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(ScopedAdmin, AccessAttemptAdmin):
    pass


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
