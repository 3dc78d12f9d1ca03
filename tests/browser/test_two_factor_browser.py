"""An investigator turns on two-factor in a real browser, under the real CSP."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from outreach.models import Membership
from tests.browser.conftest import admin_login, shot
from tests.factories import AgencyFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


def test_an_investigator_sets_up_two_factor_and_reaches_the_admin(page, live_server, settings):
    settings.OUTREACH_OTP_REQUIRED = True
    user = MembershipFactory(
        agency=AgencyFactory(code="ftc"), role=Membership.Role.INVESTIGATOR
    ).user
    blocked = []
    page.on(
        "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
    )
    admin_login(page, live_server, user.username, PASSWORD)
    page.wait_for_url("**/admin/two-factor/")
    qr = page.locator("img[alt]").first
    assert page.evaluate("img => img.naturalWidth", qr.element_handle()) > 0
    shot(page, "two-factor-set-up")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift))
    page.fill("#id_token", code.zfill(device.digits))
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "Two-factor authentication is on" in page.content()
    assert not blocked, blocked
