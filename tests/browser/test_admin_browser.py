"""An investigator and a partner agency's user in a real browser."""

from __future__ import annotations

import pytest

from outreach.models import Membership
from tests.browser.conftest import admin_login, shot
from tests.factories import AgencyFactory, HostFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


def test_an_investigator_logs_in_and_finds_a_host_by_ip(page, live_server):
    agency = AgencyFactory(code="ftc", name="Federal Trade Commission")
    user = MembershipFactory(agency=agency, role=Membership.Role.INVESTIGATOR).user
    user.is_superuser = True
    user.save()
    HostFactory(ip="203.0.113.10", agency=agency)
    HostFactory(ip="203.0.113.11", agency=agency)
    admin_login(page, live_server, user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/outreach/host/?q=203.0.113.10")
    shot(page, "investigator-host-search")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "203.0.113.10" in rows.first.inner_text()


def test_a_partner_user_sees_only_its_agency_hosts(page, live_server):
    mine, theirs = AgencyFactory(code="accc", country="AU"), AgencyFactory(code="ic")
    user = MembershipFactory(agency=mine, role=Membership.Role.COORDINATOR).user
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_host"))
    HostFactory(ip="203.0.113.20", agency=mine)
    HostFactory(ip="203.0.113.21", agency=theirs)
    admin_login(page, live_server, user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/outreach/host/")
    shot(page, "partner-host-list")
    body = page.locator("#result_list").inner_text()
    assert "203.0.113.20" in body
    assert "203.0.113.21" not in body


def test_the_letter_html_preview_shows_the_letter_inside_its_sandboxed_frame(page, live_server):
    from tests.letters_helpers import _compile_catalogs, letter_with_relays

    _compile_catalogs()
    agency = AgencyFactory(code="ftc", name="Federal Trade Commission")
    user = MembershipFactory(agency=agency, role=Membership.Role.INVESTIGATOR).user
    user.is_superuser = True
    user.save()
    letter = letter_with_relays(language="fr", agency=agency, campaign__lead_agency=agency)
    admin_login(page, live_server, user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/letters/letter/{letter.pk}/preview/")
    shot(page, "letter-html-preview")
    frame = page.frame_locator("iframe.outreach-preview")
    body = frame.locator("body").inner_text()
    assert "Madame, Monsieur," in body
    assert "Les relais ouverts (serveurs de courrier)" in body
    assert page.locator("iframe.outreach-preview").get_attribute("sandbox") == ""
