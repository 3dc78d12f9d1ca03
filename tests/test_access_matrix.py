"""The access matrix: agency A's people never reach agency B's rows.

It walks every ModelAdmin registered on the admin site and every URL each
one serves (the standard ones and whatever ``get_urls()`` adds), every
action, every autocomplete field and every foreign-key choice in every form
and inline, so a model or view added later is covered without editing this
file. The only thing to add for a new model is a builder in
tests/agency_rows.py, and the first test below fails until there is one.

For each role of agency A (viewer, coordinator, a staff user of no agency):
- every URL naming one of B's rows answers 403, 404 or 405, to GET and POST,
  and every other URL is also POSTed B's id (as ``_selected_action``, ``ids``,
  ``pk`` and ``id``);
- no response, whatever its status, contains any of B's rows' text;
- no action, posted with B's ids, changes or deletes anything of B's;
- no autocomplete answer and no form choice offers one of B's rows.
An investigator of B (investigators see the campaigns their agency leads),
the positive control, sees B's rows through the same URLs.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.options import ModelAdmin
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver

from outreach.models import Agency, Membership
from tests import factories as f
from tests.agency_rows import ROW_FOR

pytestmark = pytest.mark.django_db

DENIED = {403, 404, 405}
ROLES = ("viewer", "coordinator", "stranger")


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def registered() -> list[str]:
    return sorted(label(model) for model in admin.site._registry)


def admin_for(model_label: str) -> tuple[type[models.Model], ModelAdmin]:
    for model, model_admin in admin.site._registry.items():
        if label(model) == model_label:
            if model not in ROW_FOR:
                pytest.fail(f"add a builder to tests/agency_rows.py for {model_label}")
            return model, model_admin
    raise LookupError(model_label)


# --- the two agencies' worlds -----------------------------------------------


@dataclass
class World:
    a: Agency
    b: Agency
    rows_a: dict[type[models.Model], models.Model]
    rows_b: dict[type[models.Model], models.Model]
    # Every row created while building B, by model: none may reach A.
    b_pks: dict[type[models.Model], set[Any]]
    markers: list[str] = field(default_factory=list)
    users: dict[str, Any] = field(default_factory=dict)


def _all_pks() -> dict[type[models.Model], set[Any]]:
    return {m: set(m._base_manager.values_list("pk", flat=True)) for m in ROW_FOR}


def _build(agency: Agency) -> dict[type[models.Model], models.Model]:
    return {model: build(agency) for model, build in ROW_FOR.items()}


def _markers(b_pks: dict[type[models.Model], set[Any]]) -> list[str]:
    """B's rows' own text, minus any text a row outside B shares."""
    found: set[str] = set()
    for model, pks in b_pks.items():
        others = {str(o) for o in model._base_manager.exclude(pk__in=pks)}
        found |= {str(o) for o in model._base_manager.filter(pk__in=pks)} - others
    return sorted(m for m in found if len(m) >= 5)


def _user(agency: Agency | None, role: str, name: str) -> Any:
    user = f.UserFactory(username=name)
    if agency is not None:
        f.MembershipFactory(user=user, agency=agency, role=role)
    return user


@pytest.fixture
def world() -> World:
    a = f.AgencyFactory(code="alpha", name="Alpha Agency")
    rows_a = _build(a)
    before = _all_pks()
    b = f.AgencyFactory(code="bravo", name="Bravo Secret Agency")
    rows_b = _build(b)
    after = _all_pks()
    b_pks = {m: after[m] - before[m] for m in ROW_FOR}
    world = World(a=a, b=b, rows_a=rows_a, rows_b=rows_b, b_pks=b_pks, markers=_markers(b_pks))
    world.users = {
        "viewer": _user(a, Membership.Role.VIEWER, "alpha-viewer"),
        "coordinator": _user(a, Membership.Role.COORDINATOR, "alpha-coordinator"),
        "stranger": _user(None, "", "no-agency-staff"),
        # Investigators see the campaigns their agency leads: B's own
        # investigator is the one who must see B's rows.
        "investigator": _user(b, Membership.Role.INVESTIGATOR, "bravo-inv"),
        "b_coordinator": _user(b, Membership.Role.COORDINATOR, "bravo-coordinator"),
    }
    return world


def snapshot(world: World) -> dict[str, list[dict]]:
    return {
        label(m): sorted(
            (model_to_dict(o) | {"pk": o.pk} for o in m._base_manager.filter(pk__in=pks)),
            key=lambda row: str(row["pk"]),
        )
        for m, pks in world.b_pks.items()
    }


# --- walking an admin's URLs ------------------------------------------------

PARAM = re.compile(r"<(?:[^>:]+:)?[^>]+>|\(\?P<\w+>[^)]*\)|\([^)]*\)")


def _walk(patterns: list[Any], prefix: str = "") -> list[str]:
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            routes += _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


def admin_urls(
    model: type[models.Model], model_admin: ModelAdmin, pk: Any
) -> list[tuple[str, bool]]:
    """(url, names_an_object) for every URL this admin serves, ids filled with ``pk``."""
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    urls = []
    for route in _walk(model_admin.get_urls()):
        names_object = bool(PARAM.search(route))
        urls.append((base + PARAM.sub(str(pk), route), names_object))
    return urls


def leaks(content: bytes, markers: list[str]) -> list[str]:
    text = content.decode(errors="replace")
    variants = {m: {m, html.escape(m), json.dumps(m)[1:-1]} for m in markers}
    return [m for m, forms in variants.items() if any(_bounded(v, text) for v in forms)]


def _bounded(marker: str, text: str) -> bool:
    # "203.0.113.1" must not match inside A's "203.0.113.17".
    return re.search(rf"(?<![\w.:-]){re.escape(marker)}(?![\w.:-])", text) is not None


def request_for(user: Any) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- the tests --------------------------------------------------------------


def test_every_registered_model_has_a_row_builder():
    missing = sorted(set(registered()) - {label(m) for m in ROW_FOR})
    assert not missing, f"add a builder to tests/agency_rows.py for: {missing}"


def test_every_admin_is_a_scoped_admin():
    from outreach.admin_base import ScopedAdmin

    plain = [label(m) for m, ma in admin.site._registry.items() if not isinstance(ma, ScopedAdmin)]
    assert not plain, f"these admins must subclass outreach.admin_base.ScopedAdmin: {plain}"


@pytest.mark.parametrize("model_label", registered())
def test_it_keeps_agency_b_rows_from_every_role_of_agency_a(client, world, model_label):
    model, model_admin = admin_for(model_label)
    target = world.rows_b[model]
    before = snapshot(world)
    problems: list[str] = []
    for role in ROLES:
        client.force_login(world.users[role])
        problems += sweep_urls(client, world, model, model_admin, target.pk, role)
        problems += sweep_actions(client, world, model, model_admin, target.pk, role)
        problems += sweep_autocomplete(client, world, model_admin, role)
        problems += sweep_forms(world, model_admin, role)
    assert snapshot(world) == before, "a request by agency A changed agency B's rows"
    assert not problems, "\n".join(problems)


def sweep_urls(
    client: Any, world: World, model: Any, model_admin: Any, pk: Any, role: str
) -> list[str]:
    problems = []
    # List-level views (exports, previews of a selection) get B's id in the body.
    smuggled = {"_selected_action": [str(pk)], "ids": [str(pk)], "pk": str(pk), "id": str(pk)}
    for url, names_object in admin_urls(model, model_admin, pk):
        for method in ("get", "post"):
            data = smuggled if method == "post" and not names_object else {}
            # Follow redirects: "<id>/" redirects every id to "<id>/change/", harmlessly.
            response = getattr(client, method)(url, data, follow=True)
            if names_object and response.status_code not in DENIED:
                problems.append(f"{role} {method.upper()} {url} -> {response.status_code}")
            if found := leaks(response.content, world.markers):
                problems.append(f"{role} {method.upper()} {url} shows B's {found}")
    for url in ("/admin/", f"/admin/{model._meta.app_label}/"):
        response = client.get(url)
        if found := leaks(response.content, world.markers):
            problems.append(f"{role} GET {url} shows B's {found}")
    return problems


def sweep_actions(
    client: Any, world: World, model: Any, model_admin: Any, pk: Any, role: str
) -> list[str]:
    """Post every action the investigator has, with B's row selected."""
    changelist = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    problems = []
    for name in model_admin.get_actions(request_for(world.users["investigator"])):
        data = {"action": name, "_selected_action": [str(pk)], "index": "0", "post": "yes"}
        response = client.post(changelist, data)
        if found := leaks(response.content, world.markers):
            problems.append(f"{role} action {name} on {changelist} shows B's {found}")
    return problems


def sweep_autocomplete(client: Any, world: World, model_admin: Any, role: str) -> list[str]:
    problems = []
    opts = model_admin.model._meta
    for field_name in model_admin.get_autocomplete_fields(request_for(world.users["investigator"])):
        related = opts.get_field(field_name).related_model
        query = urlencode(
            {"app_label": opts.app_label, "model_name": opts.model_name, "field_name": field_name}
        )
        response = client.get(f"/admin/autocomplete/?{query}&term=")
        if response.status_code == 200:
            ids = {str(r["id"]) for r in response.json()["results"]}
            if ids & {str(pk) for pk in world.b_pks.get(related, set())}:
                problems.append(f"{role} autocomplete {opts.label}.{field_name} offers B's rows")
        if found := leaks(response.content, world.markers):
            problems.append(f"{role} autocomplete {opts.label}.{field_name} shows B's {found}")
    return problems


def sweep_forms(world: World, model_admin: Any, role: str) -> list[str]:
    """Every model choice in every form and inline excludes B's rows, so a
    POSTed id of B's fails validation."""
    request = request_for(world.users[role])
    problems = []
    own = world.rows_a[model_admin.model]
    for obj in (None, own):
        may = (
            model_admin.has_change_permission(request, obj)
            if obj
            else model_admin.has_add_permission(request)
        )
        if not may:
            continue
        forms = [model_admin.get_form(request, obj)]
        forms += [
            i.get_formset(request, obj).form for i in model_admin.get_inline_instances(request, obj)
        ]
        for form in forms:
            for name, form_field in form.base_fields.items():
                queryset = getattr(form_field, "queryset", None)
                b_rows = world.b_pks.get(getattr(queryset, "model", None), set())
                if queryset is not None and queryset.filter(pk__in=b_rows).exists():
                    problems.append(f"{role} may pick B's rows in {form.__name__}.{name}")
    return problems


@pytest.mark.parametrize("model_label", registered())
def test_the_investigator_sees_agency_b_rows_through_the_same_urls(client, world, model_label):
    """The positive control: the sweep above would catch a leak."""
    model, model_admin = admin_for(model_label)
    target = world.rows_b[model]
    client.force_login(world.users["investigator"])
    change = [
        url for url, names in admin_urls(model, model_admin, target.pk) if url.endswith("/change/")
    ]
    response = client.get(change[0])
    assert response.status_code == 200
    assert leaks(response.content, world.markers), "B's row is not shown even to an investigator"
    for url, _names_object in admin_urls(model, model_admin, target.pk):
        response = client.get(url, follow=True)
        assert response.status_code < 500, url
        assert b"INVALID_TEMPLATE_VARIABLE" not in response.content, url
        assert not csp_violations(response), f"{url}: {csp_violations(response)}"


# The policy (settings.CONTENT_SECURITY_POLICY) allows no inline script or
# style: a page that has some works in tests and breaks in the browser. A view
# that needs them says so in its own header (django-csp's @csp_update).
INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>|\son[a-z]+=\s*[\"']"
)
INLINE_STYLE = re.compile(rb"<style\b|\sstyle=")


def csp_violations(response: Any) -> list[str]:
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    policy = response.get("Content-Security-Policy", "")
    found = []
    if not _allows_inline(policy, "script-src"):
        found += INLINE_SCRIPT.findall(response.content)
    if not _allows_inline(policy, "style-src"):
        found += INLINE_STYLE.findall(response.content)
    return [match.decode(errors="replace") for match in found]


def _allows_inline(policy: str, directive: str) -> bool:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == directive:
            return "'unsafe-inline'" in words
    return not policy  # no policy at all blocks nothing


@pytest.mark.parametrize("model_label", registered())
def test_agency_b_sees_its_own_row_where_partners_have_access(world, model_label):
    """The builders really make rows owned by B, or the matrix proves nothing."""
    model, model_admin = admin_for(model_label)
    request = request_for(world.users["b_coordinator"])
    visible = model_admin.get_queryset(request).filter(pk=world.rows_b[model].pk).exists()
    assert visible == model_admin.partner_may_use()
    assert not model_admin.get_queryset(request_for(AnonymousUser())).exists()


# Site-level pages: the index, app lists, and any page a later stage adds to
# the site itself (a dashboard, say). Logging out would end the sweep.
SITE_SKIP = {"logout"}


def site_urls() -> list[tuple[str, str]]:
    """(name, route) of every site-level URL that is not one ModelAdmin's."""
    routes = []
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in SITE_SKIP:
            routes.append((pattern.name, str(pattern.pattern)))
    return routes


def test_site_level_pages_show_agency_b_rows_to_nobody_of_agency_a(client, world):
    apps = sorted({m._meta.app_label for m in admin.site._registry})
    problems = []
    for role in ROLES:
        client.force_login(world.users[role])
        for name, route in site_urls():
            if name == "app_list":
                urls = [f"/admin/{app}/" for app in apps]
            elif name == "view_on_site":
                urls = [f"/admin/r/{ct}/{pk}/" for ct, pk in _b_content_objects(world)]
            else:
                urls = ["/admin/" + PARAM.sub("1", route.lstrip("^").rstrip("$"))]
            for url in urls:
                response = client.get(url, follow=True)
                if name == "view_on_site" and response.status_code not in DENIED:
                    problems.append(f"{role} GET {url} -> {response.status_code}")
                if found := leaks(response.content, world.markers):
                    problems.append(f"{role} GET {url} shows B's {found}")
    assert not problems, "\n".join(problems)


def _b_content_objects(world: World) -> list[tuple[int, Any]]:
    from django.contrib.contenttypes.models import ContentType

    return [(ContentType.objects.get_for_model(m).pk, o.pk) for m, o in world.rows_b.items()]


def test_it_spots_inline_code_the_policy_would_block():
    from django.http import HttpResponse

    def page(html: str, policy: str = "default-src 'self'; style-src 'self'") -> HttpResponse:
        response = HttpResponse(html.encode(), content_type="text/html")
        response["Content-Security-Policy"] = policy
        return response

    assert csp_violations(page('<script src="/static/a.js"></script>')) == []
    assert csp_violations(page('<script type="application/json" id="d">{}</script>')) == []
    assert csp_violations(page("<script>alert(1)</script>"))
    assert csp_violations(page('<p style="color:red">x</p>'))
    assert csp_violations(page("<a onclick='go()'>x</a>"))
    assert csp_violations(page('<p style="x">y</p>', "style-src 'self' 'unsafe-inline'")) == []


def test_views_outside_the_admin_show_agency_b_rows_to_nobody_of_agency_a(client, world):
    """Pages a later stage mounts outside /admin/ (say, the recipient page) are
    walked too, with B's ids in every parameter, anonymously and as A's viewer."""
    from django.urls import get_resolver

    outside = [p for p in get_resolver().url_patterns if not str(p.pattern).startswith("admin/")]
    from letters.models import Letter

    pks = {world.b.pk, world.rows_b[Letter].pk}
    urls = ["/" + PARAM.sub(str(pk), route) for route in _walk(outside) for pk in pks]
    problems = []
    for who in ("anonymous", "viewer"):
        if who == "viewer":
            client.force_login(world.users["viewer"])
        for url in urls:
            response = client.get(url, follow=True)
            if found := leaks(response.content, world.markers):
                problems.append(f"{who} GET {url} shows B's {found}")
    assert not problems, "\n".join(problems)
