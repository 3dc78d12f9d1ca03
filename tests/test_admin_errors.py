"""The admin's 403: the admin's look, the reader's language, what to do instead (issue 20)."""

from __future__ import annotations

import pytest

from outreach.models import Membership
from outreach.services import user_language_set
from tests.test_campaign_home import campaign_world, user_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(client):
    _campaign, _ftc, accc = campaign_world()
    user = user_of(accc, Membership.Role.COORDINATOR)
    client.force_login(user)
    return user


def test_a_refused_admin_page_says_why_and_what_to_do_in_the_admin_look(client, partner):
    response = client.get("/admin/probes/feed/", HTTP_REFERER="http://testserver/admin/")
    page = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="en"' in page and 'id="header"' in page  # the admin's own page
    assert "You may not open this page" in page
    assert "Coordinator (approves and sends) — ACCC" in page
    assert 'href="/admin/"' in page
    assert "ask an investigator of the lead agency" in page


def test_it_speaks_the_readers_admin_language(client, partner):
    user_language_set(user=partner, language="es")
    response = client.get("/admin/probes/feed/")
    page = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="es"' in page
    assert "No puede abrir esta página" in page
    assert "403 Forbidden" not in page


def test_it_never_links_back_to_another_site(client, partner):
    response = client.get("/admin/probes/feed/", HTTP_REFERER="https://evil.example/x")
    assert "evil.example" not in response.content.decode()


def test_outside_the_admin_django_s_page_answers(rf):
    from django.core.exceptions import PermissionDenied

    from outreach.admin_errors import permission_denied

    response = permission_denied(rf.get("/r/x/"), PermissionDenied())
    assert response.status_code == 403
    assert b"You may not open this page" not in response.content
