"""The admin speaks the user's chosen language, else the site language,
and never the browser's (issue 20)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from outreach.admin_language import admin_language_for
from outreach.models import UserProfile
from outreach.services import user_language_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("lead", "lead@example.org", "pw")


def test_a_user_without_a_choice_gets_the_site_language_whatever_the_browser_asks(client, staff):
    client.force_login(staff)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="es")
    assert page["Content-Language"] == "en"
    assert "Site administration" in page.content.decode() or "Campaigns" in page.content.decode()
    assert "Administración" not in page.content.decode()


def test_the_profile_language_wins_over_the_browser(client, staff):
    user_language_set(user=staff, language="ja")
    client.force_login(staff)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="es")
    assert page["Content-Language"] == "ja"
    assert "ログアウト" in page.content.decode()


@override_settings(LANGUAGE_CODE="es")
def test_the_site_language_is_the_default(client, staff):
    client.force_login(staff)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "es"
    assert admin_language_for(staff) == "es"


def test_the_preferences_page_saves_the_choice_and_answers_in_it(client, staff):
    client.force_login(staff)
    url = reverse("admin:preferences")
    assert client.get(url).status_code == 200
    page = client.post(url, {"language": "es"}, follow=True)
    assert UserProfile.objects.get(user=staff).language == "es"
    assert page["Content-Language"] == "es"
    assert "Sus preferencias están guardadas." in page.content.decode()
    client.post(url, {"language": ""})
    assert admin_language_for(staff) == "en"


def test_only_admin_languages_can_be_chosen(client, staff):
    client.force_login(staff)
    page = client.post(reverse("admin:preferences"), {"language": "fr"})
    assert page.status_code == 200
    assert not UserProfile.objects.filter(user=staff, language="fr").exists()
    with pytest.raises(ValueError, match="not an admin language"):
        user_language_set(user=staff, language="fr")


def test_a_get_of_the_preferences_page_writes_nothing(client, staff):
    client.force_login(staff)
    client.get(reverse("admin:preferences"))
    assert not UserProfile.objects.exists()
