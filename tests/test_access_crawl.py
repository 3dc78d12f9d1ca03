"""The access crawler: what an attacker with a partner's login would try.

It extends the access matrix (tests/test_access_matrix.py, whose URL walker
and leak finder it reuses) with the cases that leaked before roles became
per-membership:

- agencies A and B share a campaign that A leads; C shares nothing;
- users: A's viewer, A's coordinator, a staff user of no agency, a *dual*
  user who coordinates A but only views B, and an investigator of A (the
  lead); a *bridge* user, coordinator of A and of C, has acted on C's rows;
- for every admin-registered model and every user it requests, with the
  foreign agency's ids: every URL the admin serves (change, history, delete,
  and the rest, by GET and POST), the add and change forms with
  ``?<fk>=<foreign id>`` for every foreign key (raw-ID labels), POSTs with a
  foreign id in every foreign-key field, every autocomplete queried with
  the foreign rows' own text, every related list filter with a foreign id,
  and every action on foreign primary keys (for the dual user also on B's,
  which it may read and never write);
- it asserts that no response contains a unique marker of a row out of the
  user's scope, and that no row of B or C changed.

The last tests restore, one at a time, the three causes of the leaks the
independent crawl found (an unscoped raw-ID label, an audit log filtered by
actor, roles merged across memberships) and prove the crawler fails.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.forms import MultiWidget
from django.forms.models import model_to_dict

from letters.models import Letter
from outreach.audit import audit_event
from outreach.models import Agency, Contact, Membership
from tests import factories as f
from tests.agency_rows import ROW_FOR
from tests.test_access_matrix import _all_pks, _build, admin_urls, label, leaks, request_for

pytestmark = pytest.mark.django_db
DENIED = {403, 404, 405}
User = get_user_model()


@dataclass
class CrawlWorld:
    agencies: dict[str, Agency]
    rows: dict[str, dict[type[models.Model], models.Model]]
    pks: dict[str, dict[type[models.Model], set[Any]]]
    markers: dict[str, dict[type[models.Model], list[str]]]
    users: dict[str, Any] = field(default_factory=dict)


@dataclass
class Crawl:
    requests: int = 0
    problems: list[str] = field(default_factory=list)

    def ask(self, client: Any, method: str, url: str, data: Any = None) -> Any:
        self.requests += 1
        # Follow redirects: "<id>/" redirects every id to "<id>/change/", harmlessly.
        return getattr(client, method)(url, data or {}, follow=True)


def _markers(own: dict[type[models.Model], set[Any]]) -> dict[type[models.Model], list[str]]:
    """Per model: the text of these rows that no other row shares."""
    found = {}
    for model, pks in own.items():
        others = {str(o) for o in model._base_manager.exclude(pk__in=pks)}
        mine = {str(o) for o in model._base_manager.filter(pk__in=pks)} - others
        found[model] = sorted(m for m in mine if len(m) >= 5)
    return found


@pytest.fixture
def crawl_world() -> CrawlWorld:
    agencies, rows, pks = {}, {}, {}
    for code in ("alpha", "bravo", "charlie"):
        before = _all_pks()
        agencies[code] = f.AgencyFactory(code=code, name=f"{code.title()} Secret Agency")
        rows[code] = _build(agencies[code])
        after = _all_pks()
        pks[code] = {m: after[m] - before[m] for m in ROW_FOR}
    markers = {code: _markers(pks[code]) for code in ("bravo", "charlie")}
    a, b, c = agencies["alpha"], agencies["bravo"], agencies["charlie"]
    shared = f.CampaignFactory(lead_agency=a, slug="shared-campaign")
    shared.partners.add(b)
    f.LetterFactory(campaign=shared, agency=b, contact=rows["bravo"][Contact])
    world = CrawlWorld(agencies=agencies, rows=rows, pks=pks, markers=markers)
    world.users = {
        "a_viewer": _member("a-viewer", (a, Membership.Role.VIEWER)),
        "a_coordinator": _member("a-coordinator", (a, Membership.Role.COORDINATOR)),
        "stranger": _member("no-agency"),
        "dual": _member("dual", (a, Membership.Role.COORDINATOR), (b, Membership.Role.VIEWER)),
        "a_investigator": _member("a-investigator", (a, Membership.Role.INVESTIGATOR)),
    }
    bridge = _member("bridge", (a, Membership.Role.COORDINATOR), (c, Membership.Role.COORDINATOR))
    audit_event(actor=bridge, obj=rows["charlie"][Contact], event="export")
    return world


def _member(username: str, *roles: tuple[Agency, str]) -> Any:
    user = f.UserFactory(username=username)
    for agency, role in roles:
        f.MembershipFactory(user=user, agency=agency, role=role)
    return user


# Whose ids each user is crawled with (the partner sharing the campaign, or
# the agency sharing nothing); every foreign agency's markers are looked for
# in every response all the same.
CRAWLED_WITH = {
    "a_viewer": ["bravo"],
    "a_coordinator": ["charlie"],
    "stranger": ["bravo"],
    "dual": ["charlie"],
    "a_investigator": ["charlie"],
}
# Rows a user may read and never write: crawled too, and must not change.
READS = {"dual": {"bravo"}}
# Agencies whose rows a user may see (so their text is no leak): the dual
# user's B, and for A's investigator B, the partner in the campaign A leads.
SEES = {"dual": {"bravo"}, "a_investigator": {"bravo"}}
# Investigators may open investigator-only models, whose rows belong to nobody.
INVESTIGATOR_ONLY_SEEN = {"a_investigator"}


def foreign_codes(who: str) -> list[str]:
    return CRAWLED_WITH[who]


def foreign_markers(world: CrawlWorld, who: str) -> list[str]:
    found = []
    for code in ("bravo", "charlie"):
        if code in SEES.get(who, set()):
            continue
        for model, markers in world.markers[code].items():
            if who in INVESTIGATOR_ONLY_SEEN and not _partner_model(model):
                continue
            found += markers
    return found


def _partner_model(model: type[models.Model]) -> bool:
    return admin.site._registry[model].partner_may_use()


def snapshot(world: CrawlWorld) -> dict[str, list[dict]]:
    rows = {}
    for code in ("bravo", "charlie"):
        for model, pks in world.pks[code].items():
            found = model._base_manager.filter(pk__in=pks)
            rows[f"{code}:{label(model)}"] = sorted(
                (model_to_dict(o) | {"pk": o.pk} for o in found), key=lambda r: str(r["pk"])
            )
    return rows


# --- the crawl ---------------------------------------------------------------


def crawl(client: Any, world: CrawlWorld, users: list[str], models_: list[Any]) -> Crawl:
    # Thousands of refusals: their logged tracebacks would cost more than the requests.
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return _crawl(client, world, users, models_)
    finally:
        logger.setLevel(level)


def _crawl(client: Any, world: CrawlWorld, users: list[str], models_: list[Any]) -> Crawl:
    result = Crawl()
    before = snapshot(world)
    for who in users:
        client.force_login(world.users[who])
        markers = foreign_markers(world, who)
        visit = _Visit(client, result, _checker(result, who, markers), world, who)
        for model in models_:
            model_admin = admin.site._registry[model]
            for code in foreign_codes(who):
                if who in INVESTIGATOR_ONLY_SEEN and not _partner_model(model):
                    continue
                _object_urls(visit, model, model_admin, code, deny=True)
            for code in READS.get(who, set()):
                _object_urls(visit, model, model_admin, code, deny=False)
            _foreign_keys(visit, model, model_admin)
            _autocomplete(visit, model_admin)
            _filters(visit, model)
            _actions(visit, model, model_admin)
        visit.get("/admin/")
    if snapshot(world) != before:
        result.problems.append("a request changed a row of B or C")
    return result


def _checker(result: Crawl, who: str, markers: list[str]) -> Any:
    def check(what: str, response: Any, *, denied: bool = False) -> None:
        if denied and response.status_code not in DENIED:
            result.problems.append(f"{who} {what} -> {response.status_code}")
        if found := leaks(response.content, markers):
            result.problems.append(f"{who} {what} shows {found}")

    return check


@dataclass
class _Visit:
    """One user's turn of the crawl: their client, the tally and their leak check."""

    client: Any
    result: Crawl
    check: Any
    world: CrawlWorld
    who: str

    def get(self, url: str) -> None:
        self.check(f"GET {url}", self.result.ask(self.client, "get", url))

    def post(self, what: str, url: str, data: Any) -> None:
        self.check(what, self.result.ask(self.client, "post", url, data))


def _changelist(model: Any) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def _object_urls(visit: _Visit, model: Any, model_admin: Any, code: str, *, deny: bool) -> None:
    """Every URL of the admin with the other agency's id: change, history,
    delete and the rest; list-level URLs get the id in the POST body."""
    target = visit.world.rows[code][model]
    smuggled = {"_selected_action": [str(target.pk)], "ids": [str(target.pk)], "pk": target.pk}
    for url, names_object in admin_urls(model, model_admin, target.pk):
        for method in ("get", "post"):
            data = smuggled if method == "post" and not names_object else None
            if method == "post" and names_object and url.endswith("/change/"):
                data = form_data(model_admin, target)  # a valid form: would it save?
            response = visit.result.ask(visit.client, method, url, data)
            visit.check(f"{method.upper()} {url}", response, denied=deny and names_object)


def _fk_fields(model: Any) -> list[Any]:
    return [
        fld for fld in model._meta.get_fields()
        if fld.concrete and (fld.many_to_one or fld.many_to_many) and fld.related_model in ROW_FOR
    ]  # fmt: skip


def _foreign_keys(visit: _Visit, model: Any, model_admin: Any) -> None:
    """?<fk>=<foreign id> on the add and change forms (raw-ID labels,
    initial values), and POSTs with a foreign id in every foreign key."""
    base = _changelist(model)
    own = visit.world.rows["alpha"][model]
    for code in foreign_codes(visit.who):
        foreign = {
            fld.name: visit.world.rows[code][fld.related_model].pk for fld in _fk_fields(model)
        }
        for url in (f"{base}add/", f"{base}{own.pk}/change/"):
            for name, pk in foreign.items():
                visit.get(f"{url}?{urlencode({name: pk})}")
            data = form_data(model_admin, own) | {k: str(v) for k, v in foreign.items()}
            visit.post(f"POST {url} with {code}'s ids", url, data)


def _autocomplete(visit: _Visit, model_admin: Any) -> None:
    opts = model_admin.model._meta
    fields = model_admin.get_autocomplete_fields(request_for(User(is_superuser=True)))
    for name in fields:
        related = opts.get_field(name).related_model
        for code in foreign_codes(visit.who):
            for term in (str(visit.world.rows[code][related]),):
                query = urlencode({
                    "app_label": opts.app_label, "model_name": opts.model_name,
                    "field_name": name, "term": term,
                })  # fmt: skip
                visit.get(f"/admin/autocomplete/?{query}")


def _filters(visit: _Visit, model: Any) -> None:
    for fld in _fk_fields(model):
        for code in foreign_codes(visit.who):
            pk = visit.world.rows[code][fld.related_model].pk
            visit.get(f"{_changelist(model)}?{urlencode({f'{fld.name}__id__exact': pk})}")


def _actions(visit: _Visit, model: Any, model_admin: Any) -> None:
    if visit.who in INVESTIGATOR_ONLY_SEEN and not _partner_model(model):
        return  # its rows belong to no agency: nothing foreign to act on
    superuser = request_for(User(is_superuser=True, is_active=True))
    codes = foreign_codes(visit.who) + sorted(READS.get(visit.who, set()))
    for name in model_admin.get_actions(superuser):
        for code in codes:
            pk = visit.world.rows[code][model].pk
            data = {"action": name, "_selected_action": [str(pk)], "index": "0", "post": "yes"}
            data |= {"confirm": "yes"}
            visit.post(f"action {name} on {code}'s row", _changelist(model), data)


def form_data(model_admin: Any, obj: models.Model) -> dict[str, Any]:
    """What the change form of ``obj`` would post unchanged (as a superuser sees it)."""
    request = request_for(User(is_superuser=True, is_active=True))
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data: dict[str, Any] = {}
    for name, form_field in form.fields.items():
        value = form[name].value()
        if isinstance(form_field.widget, MultiWidget):
            parts = form_field.widget.decompress(value)
            data |= {f"{name}_{i}": "" if p is None else str(p) for i, p in enumerate(parts)}
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, dict):
            data[name] = json.dumps(value)
        elif value is not None:
            data[name] = str(value)
    for inline in model_admin.get_inline_instances(request, obj):
        prefix = inline.get_formset(request, obj).get_default_prefix()
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


# --- the tests ---------------------------------------------------------------

USERS = ["a_viewer", "a_coordinator", "stranger", "dual", "a_investigator"]


def test_the_crawler_finds_no_foreign_row_and_changes_nothing_of_b_or_c(client, crawl_world):
    models_ = sorted(admin.site._registry, key=label)
    result = crawl(client, crawl_world, USERS, models_)
    print(f"\naccess crawl: {result.requests} requests, {len(result.problems)} problems")
    assert result.requests > 1500  # the crawl really walked every model
    assert not result.problems, "\n".join(result.problems)


def test_the_world_gives_the_crawler_something_to_find(crawl_world):
    """B's and C's rows exist with markers, and the dual user really reads B's."""
    assert "abuse@charlie-isp.example" in crawl_world.markers["charlie"][Contact]
    dual = crawl_world.users["dual"]
    assert Contact.objects.for_user(dual).filter(pk=crawl_world.rows["bravo"][Contact].pk)
    assert not Contact.objects.for_user(dual).filter(pk=crawl_world.rows["charlie"][Contact].pk)
    investigator = crawl_world.users["a_investigator"]
    shared = Letter.objects.for_user(investigator).filter(agency=crawl_world.agencies["bravo"])
    assert shared.count() == 1  # B's part of the campaign A leads, nothing else of B's


# --- self-tests: the crawler fails when a cause is reintroduced --------------


def test_the_crawler_fails_when_raw_id_labels_are_unscoped(client, crawl_world, monkeypatch):
    from django.contrib.admin.widgets import ForeignKeyRawIdWidget

    from outreach.admin_base import ScopedRawIdWidget

    monkeypatch.setattr(
        ScopedRawIdWidget, "label_and_url_for_value", ForeignKeyRawIdWidget.label_and_url_for_value
    )
    from letters.models import Response

    result = crawl(client, crawl_world, ["a_coordinator"], [Response])
    assert any("letter=" in p and "shows" in p for p in result.problems), result.problems


def test_the_crawler_fails_when_the_audit_log_follows_the_actor(client, crawl_world, monkeypatch):
    from auditlog.models import LogEntry

    from outreach.admin_security import AuditLogAdmin
    from outreach.scoping import user_agency_ids

    def by_actor(self: Any, request: Any, queryset: Any) -> Any:
        agency_ids = user_agency_ids(request.user)
        members = Membership.objects.filter(agency_id__in=agency_ids).values("user_id")
        return queryset.filter(
            models.Q(actor_id__in=members) | models.Q(additional_data__agency__in=agency_ids)
        )

    monkeypatch.setattr(AuditLogAdmin, "scope_queryset", by_actor)
    result = crawl(client, crawl_world, ["a_viewer"], [LogEntry])
    assert any("abuse@charlie-isp.example" in p for p in result.problems), result.problems


def test_the_crawler_fails_when_roles_are_merged_across_memberships(
    client, crawl_world, monkeypatch
):
    from letters.models import Response
    from outreach import scoping
    from outreach.roles import role_permissions, user_memberships, user_roles

    def merged(user: Any, perm: str) -> list[int]:
        # The old rule: a permission held in any agency applies in all of them.
        return list(user_memberships(user)) if perm in role_permissions(user_roles(user)) else []

    monkeypatch.setattr(scoping, "agencies_allowing", merged)
    result = crawl(client, crawl_world, ["dual"], [Response, Letter])
    assert "a request changed a row of B or C" in result.problems, result.problems
