"""Every registered admin renders its changelist and forms for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

FACTORY_FOR = {
    "agency": factories.AgencyFactory,
    "membership": factories.MembershipFactory,
    "campaign": factories.CampaignFactory,
    "network": factories.NetworkFactory,
    "contact": factories.ContactFactory,
    "host": factories.HostFactory,
    "response": factories.ResponseFactory,
    "feed": factories.FeedFactory,
    "listing": factories.ListingFactory,
    "probe": factories.ProbeFactory,
    "letter": factories.LetterFactory,
    "user": factories.UserFactory,
    "recipienttoken": factories.RecipientTokenFactory,
    "recipientaction": factories.RecipientActionFactory,
    "smarthost": factories.SmarthostFactory,
    "mailbox": factories.MailboxFactory,
    "contactdispute": factories.ContactDisputeFactory,
}
OUR_APPS = {"outreach", "probes", "letters"}


def our_models():
    return sorted(
        (m._meta.app_label, m._meta.model_name)
        for m in admin.site._registry
        if m._meta.app_label in OUR_APPS
    )


def test_every_model_of_ours_is_registered_and_has_a_factory():
    registered = {name for _app, name in our_models()}
    assert registered == set(FACTORY_FOR) - {"user"}


@pytest.mark.parametrize(("app", "model"), our_models())
def test_it_renders_changelist_add_and_change_pages(admin_client, rf, admin_user, app, model):
    obj = FACTORY_FOR[model]()
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.model_name == model)
    request = rf.get("/")
    request.user = admin_user
    # Rows only the system writes (audit trails) have no add page at all.
    can_add = model_admin.has_add_permission(request)
    for url in (
        reverse(f"admin:{app}_{model}_changelist"),
        reverse(f"admin:{app}_{model}_changelist") + "?q=203.0.113.1",
        *([reverse(f"admin:{app}_{model}_add")] if can_add else []),
        reverse(f"admin:{app}_{model}_change", args=[obj.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert b"INVALID_TEMPLATE_VARIABLE" not in response.content, url


def test_big_tables_never_count_every_row():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in OUR_APPS:
            assert model_admin.show_full_result_count is False, model


def test_the_host_changelist_searches_ip_exactly(admin_client):
    factories.HostFactory(ip="203.0.113.10")
    factories.HostFactory(ip="203.0.113.101")
    response = admin_client.get(reverse("admin:outreach_host_changelist") + "?q=203.0.113.10")
    assert b"203.0.113.10<" in response.content
    assert b"203.0.113.101" not in response.content
