"""The admin site: password, then a TOTP code for those who set one up.

Investigators and superusers must have a verified second factor when
OUTREACH_OTP_REQUIRED is on (the default outside DEBUG); partner users may
add one. Someone who must but has none yet is sent to the set-up page.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import django_otp
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.models import LogEntry
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from outreach.admin_language import preferences_view
from outreach.roles import user_is_investigator


class OutreachLoginForm(OTPAdminAuthenticationForm):
    """Asks for the TOTP code only from users who have a confirmed device."""

    def clean(self) -> dict[str, Any]:
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and django_otp.user_has_device(user):
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user: Any) -> Any:
        # Set-up keeps one device per user: with exactly one, the code alone
        # is enough and the login page needs no second round trip.
        device = super()._chosen_device(user)
        if device is None:
            devices = list(django_otp.devices_for_user(user, for_verify=True))
            device = devices[0] if len(devices) == 1 else None
        return device


def otp_missing(request: HttpRequest) -> bool:
    """True when this user must present a second factor and has not."""
    user = request.user
    if not settings.OUTREACH_OTP_REQUIRED or not user.is_authenticated:
        return False
    verified = getattr(user, "is_verified", lambda: False)()
    return not verified and user_is_investigator(user)


class TokenForm(forms.Form):
    token = forms.CharField(label=_("Code from your authenticator app"), max_length=8)


class OutreachAdminSite(admin.AdminSite):
    login_form = OutreachLoginForm
    login_template = "otp/admin111/login.html"
    site_header = site_title = "Outreach"
    index_title = _("Open relay notification campaign")
    # There is no public site to "view": the recipient pages are per-letter links.
    site_url = None

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and not otp_missing(request)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        user = request.user
        enrol = user.is_active and user.is_staff and not django_otp.user_has_device(user)
        if request.method == "GET" and enrol and otp_missing(request):
            return redirect("admin:two_factor")
        return super().login(request, extra_context)

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {"recent_actions": recent_actions(self, request), **(extra_context or {})}
        return super().index(request, context)

    def get_urls(self) -> list[URLPattern]:
        # Not wrapped in admin_view: that needs has_permission, which an
        # investigator without a second factor cannot have yet. It asks for a
        # logged-in staff user itself. Never cached: the page shows the secret.
        view = never_cache(login_required(self.two_factor))
        own = [
            path("two-factor/", view, name="two_factor"),
            path("preferences/", self.admin_view(self.preferences), name="preferences"),
        ]
        return own + super().get_urls()

    def preferences(self, request: HttpRequest) -> HttpResponse:
        site_language = dict(settings.ADMIN_LANGUAGES)[settings.LANGUAGE_CODE]
        context = {**self.each_context(request), "site_language_name": site_language}
        return preferences_view(request, context=context)

    def two_factor(self, request: HttpRequest) -> HttpResponse:
        """Set up (or replace) the user's own TOTP device, confirmed by one code."""
        user = request.user
        # Replacing a device takes the current one: a stolen password alone
        # must not be enough to swap in the thief's authenticator.
        if not user.is_staff or (django_otp.user_has_device(user) and not user.is_verified()):
            return HttpResponse(status=403)
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
        device = device or TOTPDevice.objects.create(
            user=request.user, name="authenticator", confirmed=False
        )
        form = TokenForm(request.POST or None)
        if form.is_valid() and device.verify_token(form.cleaned_data["token"].strip()):
            TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("admin:index")
        if form.is_bound:
            form.add_error("token", _("That code is not valid. Try the current one."))
        return TemplateResponse(
            request,
            "admin/two_factor.html",
            {
                **self.each_context(request),
                # Until the second factor is on, no menu: nothing there would open.
                "available_apps": [] if otp_missing(request) else self.get_app_list(request),
                "form": form,
                "qr": _qr_svg(device.config_url),
                "title": _("Two-factor authentication"),
                "secret": base64.b32encode(device.bin_key).decode(),
            },
        )


def recent_actions(site: admin.AdminSite, request: HttpRequest, limit: int = 10) -> list[LogEntry]:
    """The user's own latest admin actions, each marked ``in_scope`` only while
    its object is still one the user may see (a row moved to another agency
    since, or deleted, is no longer named)."""
    entries = list(
        LogEntry.objects.filter(user_id=request.user.pk).select_related("content_type")[:limit]
    )
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type else None
        model_admin = site._registry.get(model)
        entry.in_scope = model_admin is not None and not entry.is_deletion()
        if entry.in_scope:
            try:
                rows = model_admin.get_queryset(request).filter(pk=entry.object_id)
                entry.in_scope = rows.exists()
            except (ValueError, ValidationError):
                entry.in_scope = False
    return entries


def _qr_svg(url: str) -> str:
    """The QR code as an <img> of an SVG data URL: the CSP allows data: images,
    and HTML would not parse the namespaced SVG if it were inlined."""
    out = io.BytesIO()
    write_qrcode_image(url, out)
    encoded = base64.b64encode(out.getvalue()).decode()
    return format_html(
        '<img src="data:image/svg+xml;base64,{}" width="200" height="200" alt="{}">',
        encoded,
        _("QR code for your authenticator app"),
    )
