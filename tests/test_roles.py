"""Roles: what investigators, coordinators and viewers may do in the admin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from outreach.admin_base import ScopedAdmin, ScopedAllValuesFilter, ScopedRelatedFilter
from outreach.models import Contact, Membership
from outreach.roles import role_permissions
from probes.models import Listing
from tests import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()


def request_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def alpha():
    return f.AgencyFactory(code="alpha", name="Alpha Agency")


@pytest.fixture
def bravo():
    return f.AgencyFactory(code="bravo", name="Bravo Agency")


def member(agency, role, username):
    return f.MembershipFactory(agency=agency, role=role, user__username=username).user


def test_it_grants_permissions_by_role():
    viewer = role_permissions({Membership.Role.VIEWER})
    coordinator = role_permissions({Membership.Role.COORDINATOR})
    investigator = role_permissions({Membership.Role.INVESTIGATOR})
    assert "outreach.view_host" in viewer
    assert all(p.split(".")[1].startswith("view_") for p in viewer)
    assert "auditlog.view_logentry" in viewer
    assert {"letters.approve_letter", "letters.send_letter", "auth.add_user"} <= coordinator
    assert "outreach.change_host" not in coordinator
    assert {"outreach.change_host", "probes.add_feed", "auth.change_user"} <= investigator
    assert role_permissions(set()) == set()


def test_a_viewer_never_writes_even_with_every_permission_given_by_hand(alpha):
    viewer = member(alpha, Membership.Role.VIEWER, "alpha-viewer")
    viewer.user_permissions.set(Permission.objects.all())
    viewer = User.objects.get(pk=viewer.pk)
    request = request_for(viewer)
    for model, model_admin in admin.site._registry.items():
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        actions = model_admin.get_actions(request)
        assert all(getattr(a[0], "allowed_permissions", ()) == ("view",) for a in actions.values())


def test_partners_never_see_investigator_only_models(alpha):
    coordinator = member(alpha, Membership.Role.COORDINATOR, "alpha-coord")
    request = request_for(coordinator)
    feeds = admin.site._registry[f.FeedFactory._meta.model]
    assert not feeds.has_module_permission(request)
    assert not feeds.has_view_permission(request)


def test_it_offers_only_related_values_in_scope_as_list_filters(alpha):
    from django.contrib.admin import RelatedFieldListFilter

    listing_admin = ScopedAdmin(Listing, admin.site)
    listing_admin.list_filter = [
        "feed", "host__agency", ("host", RelatedFieldListFilter), "reason"
    ]  # fmt: skip
    filters = listing_admin.get_list_filter(request_for(member(alpha, "viewer", "v")))
    assert filters == [
        ("feed", ScopedRelatedFilter),
        ("host__agency", ScopedRelatedFilter),
        ("host", ScopedRelatedFilter),
        ("reason", ScopedAllValuesFilter),
    ]


def user_add_data(agency, role, username="alpha-new"):
    return {
        "username": username,
        "usable_password": "true",
        "password1": "a long and unusual passphrase",
        "password2": "a long and unusual passphrase",
        "membership_set-TOTAL_FORMS": "1",
        "membership_set-INITIAL_FORMS": "0",
        "membership_set-MIN_NUM_FORMS": "1",
        "membership_set-MAX_NUM_FORMS": "1000",
        "membership_set-0-agency": str(agency.pk),
        "membership_set-0-role": role,
    }


def test_a_coordinator_adds_a_user_to_its_own_agency(client, alpha):
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    response = client.post("/admin/auth/user/add/", user_add_data(alpha, "viewer"))
    assert response.status_code == 302, response.content
    user = User.objects.get(username="alpha-new")
    assert user.is_staff and not user.is_superuser
    assert Membership.objects.get(user=user).agency == alpha


def test_a_coordinator_cannot_make_investigators_or_users_of_another_agency(client, alpha, bravo):
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    client.post("/admin/auth/user/add/", user_add_data(alpha, "investigator", "would-be-inv"))
    client.post("/admin/auth/user/add/", user_add_data(bravo, "viewer", "would-be-bravo"))
    no_membership = user_add_data(alpha, "viewer", "orphan") | {"membership_set-TOTAL_FORMS": "0"}
    client.post("/admin/auth/user/add/", no_membership)
    assert not User.objects.filter(username__in=["would-be-inv", "would-be-bravo", "orphan"])


def test_a_coordinator_cannot_edit_an_investigator_in_its_agency(client, alpha):
    investigator = member(alpha, Membership.Role.INVESTIGATOR, "alpha-inv")
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    url = f"/admin/auth/user/{investigator.pk}/change/"
    response = client.post(url, {"username": "renamed", "is_active": ""})
    assert response.status_code == 403
    assert client.get(f"/admin/auth/user/{investigator.pk}/password/").status_code == 403
    membership = Membership.objects.get(user=investigator)
    assert (
        client.post(
            f"/admin/outreach/membership/{membership.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    investigator.refresh_from_db()
    assert investigator.username == "alpha-inv" and investigator.is_active


def contact_data(contact, agency_id):
    return {
        "email": contact.email,
        "organisation": contact.organisation,
        "language": "",
        "country": "US",
        "agency": agency_id,
        "do_not_contact": "",
        "do_not_contact_reason": "",
        "bounce_score": "0",
    }


def test_it_rejects_a_posted_foreign_key_of_another_agency(client, alpha, bravo):
    contact = f.ContactFactory(agency=alpha)
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    url = f"/admin/outreach/contact/{contact.pk}/change/"
    response = client.post(url, contact_data(contact, str(bravo.pk)))
    assert response.status_code == 200
    assert "agency" in response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.agency == alpha


def test_it_refuses_a_save_that_moves_a_row_out_of_the_users_scope(client, alpha):
    contact = f.ContactFactory(agency=alpha)
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    response = client.post(
        f"/admin/outreach/contact/{contact.pk}/change/", contact_data(contact, "")
    )
    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).agency == alpha


def test_it_escapes_hostile_strings_from_whois_and_feeds(admin_client):
    hostile = '<script>alert("x")</script>'
    contact = f.ContactFactory(organisation=hostile)
    network = f.NetworkFactory(name=hostile)
    for url in (
        "/admin/outreach/contact/",
        f"/admin/outreach/contact/{contact.pk}/change/",
        f"/admin/outreach/network/{network.pk}/change/",
    ):
        content = admin_client.get(url).content
        assert b"<script>alert" not in content, url
        assert b"&lt;script&gt;alert" in content, url


def test_every_admin_of_the_site_is_scoped():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ScopedAdmin), model


def test_custom_actions_can_ask_for_a_role_permission(alpha):
    from letters.models import Letter

    letters = admin.site._registry[Letter]
    coordinator = member(alpha, Membership.Role.COORDINATOR, "alpha-coord")
    viewer = member(alpha, Membership.Role.VIEWER, "alpha-viewer")
    assert letters.has_model_perm(request_for(coordinator), "approve_letter")
    assert not letters.has_model_perm(request_for(viewer), "approve_letter")
    assert not letters.has_model_perm(request_for(coordinator), "change_host")


def test_it_adds_an_agency_login_from_the_command_line(client, alpha, capsys):
    from django.core.management import call_command

    call_command("agency_user_add", "alpha", "alpha-boss", "--email", "boss@alpha.example")
    password = capsys.readouterr().out.split("Login: alpha-boss / ")[1].split()[0]
    membership = Membership.objects.get(user__username="alpha-boss")
    assert (membership.agency, membership.role) == (alpha, Membership.Role.COORDINATOR)
    login = client.post("/admin/login/", {"username": "alpha-boss", "password": password})
    assert login.status_code == 302


def test_a_partner_login_can_get_its_admin_language_at_once(client, alpha):
    from django.core.management import call_command

    from outreach.admin_language import admin_language_for

    call_command("agency_user_add", "alpha", "alpha-cl", "--language", "es")
    user = Membership.objects.get(user__username="alpha-cl").user
    assert admin_language_for(user) == "es"
    client.force_login(user)
    assert client.get("/admin/")["Content-Language"] == "es"


def test_it_prints_the_new_login_as_json(client, alpha):
    from io import StringIO

    from django.core.management import call_command

    from tests.command_io import json_lines

    out, err = StringIO(), StringIO()
    call_command(
        "agency_user_add",
        "alpha",
        "alpha-viewer",
        "--role",
        "viewer",
        "--json",
        stdout=out,
        stderr=err,
    )
    [summary] = json_lines(out)
    assert {k: v for k, v in summary.items() if k != "password"} == {
        "summary": True,
        "username": "alpha-viewer",
        "agency": "alpha",
        "role": "viewer",
    }
    assert "two-factor" in err.getvalue()
    assert Membership.objects.get(user__username="alpha-viewer").role == Membership.Role.VIEWER
    login = {"username": "alpha-viewer", "password": summary["password"]}
    assert client.post("/admin/login/", login).status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "x"], "No agency"),
        (["alpha", "x", "--role", "boss"], "invalid choice"),
        (["alpha", "taken"], "taken"),
        (["alpha", "x", "--language", "fr"], "invalid choice"),
    ],
)
def test_it_refuses_a_bad_agency_login_request(alpha, args, message):
    from django.core.management import CommandError, call_command

    f.UserFactory(username="taken")
    with pytest.raises(CommandError, match=message):
        call_command("agency_user_add", *args)


# --- a role belongs to a membership -----------------------------------------


@pytest.fixture
def dual(alpha, bravo):
    """Coordinator in alpha, only a viewer in bravo."""
    user = member(alpha, Membership.Role.COORDINATOR, "dual")
    f.MembershipFactory(user=user, agency=bravo, role=Membership.Role.VIEWER)
    return User.objects.get(pk=user.pk)


def test_it_answers_the_role_a_user_holds_in_each_agency(alpha, bravo, dual):
    from outreach.roles import role_for

    assert role_for(dual, alpha) == Membership.Role.COORDINATOR
    assert role_for(dual, bravo.pk) == Membership.Role.VIEWER
    assert role_for(dual, f.AgencyFactory()) is None
    assert role_for(dual, None) is None
    assert role_for(f.UserFactory(is_superuser=True), bravo) == Membership.Role.INVESTIGATOR


def test_a_coordinator_who_only_views_another_agency_cannot_edit_its_contacts(
    client, alpha, bravo, dual
):
    theirs, ours = f.ContactFactory(agency=bravo), f.ContactFactory(agency=alpha)
    client.force_login(dual)
    url = f"/admin/outreach/contact/{theirs.pk}/change/"
    assert client.get(url).status_code == 200  # reading is the viewer's right
    data = contact_data(theirs, str(bravo.pk)) | {"organisation": "edited by alpha"}
    assert client.post(url, data).status_code == 403
    assert Contact.objects.get(pk=theirs.pk).organisation != "edited by alpha"
    data = contact_data(ours, str(alpha.pk)) | {"organisation": "edited by alpha"}
    assert client.post(f"/admin/outreach/contact/{ours.pk}/change/", data).status_code == 302
    assert Contact.objects.get(pk=ours.pk).organisation == "edited by alpha"


def test_a_coordinator_who_only_views_another_agency_cannot_act_on_its_letters(
    client, alpha, bravo, dual
):
    from letters.models import Letter
    from letters.outbox import DELIVERY_UNKNOWN

    shared = f.CampaignFactory(lead_agency=alpha)
    shared.partners.add(bravo)
    failed = {"status": Letter.Status.FAILED, "outcome": DELIVERY_UNKNOWN}
    theirs = f.LetterFactory(campaign=shared, agency=bravo, **failed)
    ours = f.LetterFactory(campaign=shared, agency=alpha, **failed)
    response = f.ResponseFactory(letter=theirs)
    client.force_login(dual)
    both = [theirs.pk, ours.pk]
    client.post("/admin/letters/letter/", {"action": "requeue_unknown", "_selected_action": both})
    client.post(
        "/admin/letters/response/",
        {"action": "mark_dispute", "_selected_action": [response.pk]},
    )
    assert Letter.objects.get(pk=theirs.pk).status == Letter.Status.FAILED
    assert Letter.objects.get(pk=ours.pk).status == Letter.Status.APPROVED
    response.refresh_from_db()
    assert response.kind != "dispute"


def test_nobody_grants_themselves_a_role_where_they_are_only_a_viewer(client, alpha, bravo, dual):
    client.force_login(dual)
    own = Membership.objects.get(user=dual, agency=bravo)
    url = f"/admin/outreach/membership/{own.pk}/change/"
    post = {"user": dual.pk, "agency": bravo.pk, "role": Membership.Role.COORDINATOR}
    assert client.post(url, post).status_code == 403
    other = member(bravo, Membership.Role.VIEWER, "bravo-someone")
    colleague = member(alpha, Membership.Role.VIEWER, "alpha-someone")
    add = {"user": colleague.pk, "agency": bravo.pk, "role": Membership.Role.COORDINATOR}
    assert client.post("/admin/outreach/membership/add/", add).status_code == 403
    assert Membership.objects.get(pk=own.pk).role == Membership.Role.VIEWER
    assert not Membership.objects.filter(user=colleague, agency=bravo).exists()
    # Through the user page: bravo's users are out of alpha's coordinator's reach.
    response = client.post(f"/admin/auth/user/{other.pk}/change/", {"username": "bravo-renamed"})
    assert response.status_code == 403


def test_only_an_investigator_of_that_agency_grants_the_investigator_role(client, alpha, bravo):
    lead = member(alpha, Membership.Role.INVESTIGATOR, "alpha-inv")
    f.MembershipFactory(user=lead, agency=bravo, role=Membership.Role.COORDINATOR)
    newcomer_a = member(alpha, Membership.Role.VIEWER, "alpha-newcomer")
    newcomer_b = member(bravo, Membership.Role.VIEWER, "bravo-newcomer")
    client.force_login(lead)
    for newcomer, agency in ((newcomer_a, alpha), (newcomer_b, bravo)):
        membership = Membership.objects.get(user=newcomer)
        client.post(
            f"/admin/outreach/membership/{membership.pk}/change/",
            {"user": newcomer.pk, "agency": agency.pk, "role": Membership.Role.INVESTIGATOR},
        )
    assert Membership.objects.get(user=newcomer_a).role == Membership.Role.INVESTIGATOR
    assert Membership.objects.get(user=newcomer_b).role == Membership.Role.VIEWER


def test_every_list_filter_of_every_admin_is_a_scoped_filter(alpha):
    """A custom filter must derive from ScopedListFilter: this fails, naming the
    admin, when one does not."""
    from outreach.admin_base import ScopedListFilter

    request = request_for(f.UserFactory(is_superuser=True))
    unscoped = []
    for model_admin in admin.site._registry.values():
        for spec in model_admin.get_list_filter(request):
            filter_class = spec[1] if isinstance(spec, tuple) else spec
            if not (isinstance(filter_class, type) and issubclass(filter_class, ScopedListFilter)):
                unscoped.append(f"{type(model_admin).__name__}: {spec!r}")
    assert not unscoped, "\n".join(unscoped)


def test_the_filter_test_would_catch_a_plain_simple_list_filter():
    from django.contrib.admin import SimpleListFilter

    from outreach.admin_base import ScopedListFilter, scoped_filter

    class Plain(SimpleListFilter):
        title = parameter_name = "plain"

    kept = scoped_filter(Listing, Plain)
    assert kept is Plain and not issubclass(kept, ScopedListFilter)


def test_a_filter_that_returns_rows_of_another_agency_is_cut_back(alpha, bravo):
    from outreach.admin_base import ScopedSimpleListFilter

    class Greedy(ScopedSimpleListFilter):
        title = parameter_name = "greedy"

        def lookups(self, request, model_admin):
            return [("all", "all")]

        def queryset(self, request, queryset):
            return Contact.objects.all()  # ignores the scoped queryset it was given

    ours, _theirs = f.ContactFactory(agency=alpha), f.ContactFactory(agency=bravo)
    request = request_for(member(alpha, Membership.Role.VIEWER, "alpha-viewer"))
    contacts = admin.site._registry[Contact]
    greedy = Greedy(request, {"greedy": ["all"]}, Contact, contacts)
    assert list(greedy.queryset(request, contacts.get_queryset(request))) == [ours]


def test_a_raw_id_field_labels_only_rows_the_user_may_see(client, alpha, bravo):
    ours = f.LetterFactory(campaign__lead_agency=alpha, contact__email="abuse@ours.example")
    theirs = f.LetterFactory(campaign__lead_agency=bravo, contact__email="abuse@theirs.example")
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    page = client.get(f"/admin/letters/response/add/?letter={theirs.pk}")
    assert page.status_code == 200 and b"abuse@theirs.example" not in page.content
    page = client.post("/admin/letters/response/add/", {"letter": theirs.pk, "kind": "reply"})
    assert b"abuse@theirs.example" not in page.content
    page = client.get(f"/admin/letters/response/add/?letter={ours.pk}")
    assert b"abuse@ours.example" in page.content


def test_the_admin_shows_a_banner_while_a_superuser_is_logged_in(client, alpha):
    client.force_login(f.UserFactory(is_superuser=True, is_staff=True))
    assert b"outreach-breakglass" in client.get("/admin/").content
    client.force_login(member(alpha, Membership.Role.COORDINATOR, "alpha-coord"))
    assert b"outreach-breakglass" not in client.get("/admin/").content


def test_recent_actions_stop_naming_a_row_that_left_the_users_scope(client, alpha, bravo):
    coordinator = member(alpha, Membership.Role.COORDINATOR, "alpha-coord")
    contact = f.ContactFactory(agency=alpha, email="abuse@moved-away.example")
    client.force_login(coordinator)
    data = contact_data(contact, str(alpha.pk)) | {"organisation": "edited"}
    assert client.post(f"/admin/outreach/contact/{contact.pk}/change/", data).status_code == 302
    assert b"abuse@moved-away.example" in client.get("/admin/").content
    Contact.objects.filter(pk=contact.pk).update(agency=bravo)
    page = client.get("/admin/").content
    assert b"abuse@moved-away.example" not in page and b"outside your agencies" in page
