"""Logins, lockout, two factors, headers and the production checks."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from outreach.models import Membership
from outreach.security import client_ip
from tests import factories as f
from tests.test_settings import settings_in_subprocess

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/"


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "OUTREACH_VAR_DIR": str(tmp_path),
        # Never connected to: check --deploy only reads settings.
        "DATABASE_URL": "postgres://outreach@127.0.0.1:5432/outreach_deploy_check",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "outreach.agency.example",
    }


def test_it_passes_check_deploy_with_no_warnings_under_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_requires_two_factors_for_investigators_in_production_only(tmp_path):
    env = production_env(tmp_path)
    env.pop("PATH")
    production = settings_in_subprocess({"VAR": str(tmp_path), **env}, "s.OUTREACH_OTP_REQUIRED")
    embedded = settings_in_subprocess({"VAR": str(tmp_path)}, "s.OUTREACH_OTP_REQUIRED")
    assert json.loads(production.stdout) == [True], production.stderr
    assert json.loads(embedded.stdout) == [False], embedded.stderr


def test_it_locks_by_username_and_by_ip_as_separate_rules():
    from django.conf import settings

    assert settings.AXES_LOCKOUT_PARAMETERS == [["username"], ["ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def _login(client, username: str, password: str, ip: str, **extra: str):
    data = {"username": username, "password": password, **extra}
    return client.post(LOGIN, data, REMOTE_ADDR=ip)


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_it_locks_an_account_attacked_from_rotating_addresses(client):
    f.UserFactory(username="alice")
    for n in range(3):
        _login(client, "alice", "wrong", f"192.0.2.{n + 1}")
    response = _login(client, "alice", PASSWORD, "192.0.2.99")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_it_locks_an_address_that_tries_many_accounts(client):
    f.UserFactory(username="bob")
    for n in range(3):
        _login(client, f"guess{n}", "wrong", "198.51.100.7")
    assert _login(client, "bob", PASSWORD, "198.51.100.7").status_code == 429
    # The same account from another address is not locked: the rules are separate.
    assert _login(client, "bob", PASSWORD, "198.51.100.8").status_code == 302


@override_settings(OUTREACH_PROXY_COUNT=1)
def test_it_trusts_forwarded_addresses_only_as_deep_as_its_proxies(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.66, 192.0.2.5", REMOTE_ADDR="127.0.0.1")
    assert client_ip(request) == "192.0.2.5"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"


# --- two factors --------------------------------------------------------------


def _code(device: TOTPDevice) -> str:
    return str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift)).zfill(
        device.digits
    )


@pytest.fixture
def investigator(db):
    return f.MembershipFactory(role=Membership.Role.INVESTIGATOR, user__username="inv").user


@pytest.mark.django_db
def test_it_sends_an_investigator_without_a_device_to_set_one_up(client, settings, investigator):
    settings.OUTREACH_OTP_REQUIRED = True
    assert _login(client, "inv", PASSWORD, "127.0.0.1").status_code == 302
    assert client.get("/admin/").status_code == 302
    assert client.get(LOGIN).url == "/admin/two-factor/"
    page = client.get("/admin/two-factor/")
    assert page.status_code == 200 and b"data:image/svg+xml;base64," in page.content
    assert "no-store" in page.headers["Cache-Control"]
    assert page.context["available_apps"] == []
    device = TOTPDevice.objects.get(user=investigator, confirmed=False)
    assert client.post("/admin/two-factor/", {"token": _code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_it_refuses_a_wrong_code_when_setting_up(client, settings, investigator):
    settings.OUTREACH_OTP_REQUIRED = True
    client.force_login(investigator)
    client.get("/admin/two-factor/")
    response = client.post("/admin/two-factor/", {"token": "000000"})
    assert response.status_code == 200 and b"not valid" in response.content
    assert not TOTPDevice.objects.filter(user=investigator, confirmed=True).exists()


@pytest.mark.django_db
def test_it_asks_an_enrolled_investigator_for_the_code_at_login(client, settings, investigator):
    settings.OUTREACH_OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    refused = _login(client, "inv", PASSWORD, "127.0.0.1")
    assert refused.status_code == 200 and b"OTP token" in refused.content
    assert _login(client, "inv", PASSWORD, "127.0.0.1", otp_token=_code(device)).status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_it_refuses_a_force_logged_investigator_without_a_second_factor(
    client, settings, investigator
):
    settings.OUTREACH_OTP_REQUIRED = True
    client.force_login(investigator)
    assert client.get("/admin/outreach/host/").status_code == 302


@pytest.mark.django_db
def test_it_lets_partner_users_log_in_without_a_second_factor(client, settings):
    settings.OUTREACH_OTP_REQUIRED = True
    f.MembershipFactory(role=Membership.Role.VIEWER, user__username="partner")
    assert _login(client, "partner", PASSWORD, "127.0.0.1").status_code == 302
    assert client.get("/admin/").status_code == 200


# --- headers and sessions ---------------------------------------------------------


@pytest.mark.django_db
def test_it_sends_a_content_security_policy(admin_client):
    policy = admin_client.get("/admin/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_its_sessions_expire_when_idle_and_cookies_stay_out_of_scripts(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Strict"


def test_it_sets_secure_cookies_in_production(tmp_path):
    env = production_env(tmp_path)
    env.pop("PATH")
    result = settings_in_subprocess(
        {"VAR": str(tmp_path), **env}, "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE"
    )
    assert json.loads(result.stdout) == [True, True], result.stderr


def test_it_requires_strong_passwords():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password123", "short", "123456789012"):
        with pytest.raises(ValidationError):
            validate_password(weak)


@pytest.mark.django_db
def test_it_refuses_to_replace_a_device_without_the_current_one(client, investigator):
    TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    client.force_login(investigator)
    assert client.get("/admin/two-factor/").status_code == 403


@pytest.mark.django_db
def test_nobody_reads_another_users_totp_secret_in_the_admin(admin_client, investigator):
    device = TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    page = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200 and device.key.encode() not in page.content
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403


@override_settings(OUTREACH_PROXY_COUNT=1)
def test_it_ignores_a_forwarded_value_that_is_not_an_address(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="<script>", REMOTE_ADDR="127.0.0.1")
    assert client_ip(request) == "127.0.0.1"


@pytest.mark.django_db
def test_every_admin_page_links_to_the_two_factor_set_up(admin_client):
    assert b'href="/admin/two-factor/"' in admin_client.get("/admin/").content


def test_a_view_can_allow_inline_styles_for_itself_only(rf):
    from csp.decorators import csp_update
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    @csp_update({"style-src": ["'self'", "'unsafe-inline'"]})
    def preview(request):
        return HttpResponse("<p style='x'>letter</p>")

    special = CSPMiddleware(preview)(rf.get("/"))["Content-Security-Policy"]
    plain = CSPMiddleware(lambda r: HttpResponse("x"))(rf.get("/"))["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in special
    assert "unsafe-inline" not in plain
    assert "script-src 'self';" in special + ";"
