"""Who did what, when: single saves through auditlog, bulk paths through outreach.audit."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.test import RequestFactory

from letters.models import Letter
from outreach.audit import audit_event, audit_record, audit_update
from outreach.models import Membership
from tests import factories as f

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return LogEntry.objects.get_for_object(obj)


def visible_log(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return admin.site._registry[LogEntry].get_queryset(request)


def test_it_records_an_admin_change_with_its_author(client):
    agency = f.AgencyFactory(code="alpha")
    coordinator = f.MembershipFactory(agency=agency, role=Membership.Role.COORDINATOR).user
    contact = f.ContactFactory(agency=agency, email="abuse@isp.example")
    client.force_login(coordinator)
    data = {
        "email": contact.email, "organisation": "ISP", "language": "", "country": "US",
        "agency": agency.pk, "do_not_contact": "on", "do_not_contact_reason": "asked us",
        "bounce_score": "0",
    }  # fmt: skip
    assert client.post(f"/admin/outreach/contact/{contact.pk}/change/", data).status_code == 302
    entry = entries_for(contact).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == coordinator
    assert entry.changes_dict["do_not_contact"] == ["False", "True"]


def test_it_records_a_change_of_scoping():
    alpha, bravo = f.AgencyFactory(code="alpha"), f.AgencyFactory(code="bravo")
    host = f.HostFactory(agency=alpha)
    host.agency = bravo
    host.save()
    entry = entries_for(host).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.changes_dict["agency"] == [str(alpha.pk), str(bravo.pk)]


def test_a_bulk_update_records_every_row_with_old_and_new_values():
    agency = f.AgencyFactory(code="alpha")
    approver = f.MembershipFactory(agency=agency, role=Membership.Role.COORDINATOR).user
    letters = f.LetterFactory.create_batch(3, campaign__lead_agency=agency)
    queryset = Letter.objects.filter(pk__in=[letter.pk for letter in letters])
    updated = audit_update(actor=approver, queryset=queryset, event="approve", status="approved")
    assert updated == 3
    assert set(queryset.values_list("status", flat=True)) == {"approved"}
    for letter in letters:
        entry = entries_for(letter).get(additional_data__event="approve")
        assert entry.actor == approver
        assert entry.changes == {"status": ["draft", "approved"]}
        assert entry.additional_data["agency"] == agency.pk


def test_a_bulk_record_notes_an_export_of_many_rows():
    agency = f.AgencyFactory(code="alpha")
    hosts = f.HostFactory.create_batch(4, agency=agency)
    count = audit_record(
        actor=None, queryset=type(hosts[0]).objects.filter(agency=agency),
        event="export", action=LogEntry.Action.ACCESS, note="hosts.csv",
    )  # fmt: skip
    assert count == 4
    entry = entries_for(hosts[0]).get(additional_data__event="export")
    assert entry.action == LogEntry.Action.ACCESS
    assert entry.additional_data == {
        "event": "export", "bulk": True, "agency": agency.pk, "note": "hosts.csv"
    }  # fmt: skip


def test_each_agency_reads_the_entries_about_its_own_rows_and_investigators_theirs():
    alpha, bravo = f.AgencyFactory(code="alpha"), f.AgencyFactory(code="bravo")
    alpha_user = f.MembershipFactory(agency=alpha, role=Membership.Role.VIEWER).user
    bravo_user = f.MembershipFactory(agency=bravo, role=Membership.Role.COORDINATOR).user
    investigator = f.MembershipFactory(agency=alpha, role=Membership.Role.INVESTIGATOR).user
    alpha_export = audit_event(actor=None, obj=f.HostFactory(agency=alpha), event="export")
    # bravo's user acted on a feed, which only investigators see: the entry
    # follows the object, not the actor.
    by_bravo = audit_event(actor=bravo_user, obj=f.FeedFactory(), event="download")
    assert alpha_export in visible_log(alpha_user) and by_bravo not in visible_log(alpha_user)
    assert by_bravo not in visible_log(bravo_user) and alpha_export not in visible_log(bravo_user)
    assert not visible_log(bravo_user).filter(additional_data__agency=alpha.pk).exists()
    assert {alpha_export, by_bravo} <= set(visible_log(investigator))


def test_an_agency_reads_what_others_did_to_its_rows():
    alpha = f.AgencyFactory(code="alpha")
    viewer = f.MembershipFactory(agency=alpha, role=Membership.Role.VIEWER).user
    letter = f.LetterFactory(campaign__lead_agency=alpha)
    response = f.ResponseFactory(letter=letter)
    letter.status = Letter.Status.SENT
    letter.save()
    seen = visible_log(viewer)
    assert seen.filter(object_pk=str(letter.pk), action=LogEntry.Action.UPDATE).exists()
    assert seen.filter(object_pk=str(response.pk), content_type__model="response").exists()


def test_the_admin_bulk_delete_action_records_every_row(admin_client):
    contacts = f.ContactFactory.create_batch(2)
    data = {
        "action": "delete_selected",
        "_selected_action": [c.pk for c in contacts],
        "post": "yes",
    }
    assert admin_client.post("/admin/outreach/contact/", data).status_code == 302
    deleted = LogEntry.objects.filter(action=LogEntry.Action.DELETE, content_type__model="contact")
    assert set(deleted.values_list("object_pk", flat=True)) == {str(c.pk) for c in contacts}


def test_it_never_records_a_forged_forwarded_address(admin_client):
    contact = f.ContactFactory(email="abuse@isp.example")
    data = {
        "email": contact.email, "organisation": "ISP", "language": "", "country": "US",
        "agency": "", "do_not_contact": "on", "do_not_contact_reason": "", "bounce_score": "0",
    }  # fmt: skip
    url = f"/admin/outreach/contact/{contact.pk}/change/"
    for forged in ("not-an-address", "198.51.100.66"):
        response = admin_client.post(
            url, data, HTTP_X_FORWARDED_FOR=forged, REMOTE_ADDR="127.0.0.9"
        )
        assert response.status_code == 302
    updates = entries_for(contact).filter(action=LogEntry.Action.UPDATE)
    addresses = set(updates.values_list("remote_addr", flat=True))
    assert addresses == {"127.0.0.9"}


def test_a_bulk_record_made_during_a_request_keeps_its_address():
    from auditlog.context import set_extra_data

    agency = f.AgencyFactory(code="alpha")
    user = f.MembershipFactory(agency=agency, role=Membership.Role.COORDINATOR).user
    host = f.HostFactory(agency=agency)
    with set_extra_data({"actor": user, "remote_addr": "127.0.0.7", "remote_port": None}):
        audit_record(actor=user, queryset=type(host).objects.filter(pk=host.pk), event="export")
    entry = entries_for(host).get(additional_data__event="export")
    assert (entry.remote_addr, entry.actor_email) == ("127.0.0.7", user.email)


def test_an_entry_is_visible_only_while_its_object_is_in_scope_whoever_made_it():
    alpha, bravo = f.AgencyFactory(code="alpha"), f.AgencyFactory(code="bravo")
    viewer = f.MembershipFactory(agency=alpha, role=Membership.Role.VIEWER).user
    bridge = f.MembershipFactory(agency=alpha, role=Membership.Role.COORDINATOR).user
    f.MembershipFactory(user=bridge, agency=bravo, role=Membership.Role.COORDINATOR)
    contact = f.ContactFactory(agency=bravo)
    # Made by a member of alpha, about bravo's row: alpha does not see it.
    entry = audit_event(actor=bridge, obj=contact, event="export")
    assert entry not in visible_log(viewer)
    contact.agency = alpha
    contact.save()
    assert entry in visible_log(viewer)  # in scope now, so its history is too


def test_it_redacts_related_names_out_of_scope_in_a_change(client):
    alpha, bravo = f.AgencyFactory(code="alpha"), f.AgencyFactory(name="Bravo Secret Agency")
    campaign = f.CampaignFactory(lead_agency=alpha)
    campaign.partners.add(bravo)
    entry = LogEntry.objects.get_for_object(campaign).filter(changes__has_key="partners").get()
    viewer = f.MembershipFactory(agency=alpha, role=Membership.Role.VIEWER).user
    client.force_login(viewer)
    page = client.get(f"/admin/auditlog/logentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert b"Bravo Secret Agency" not in page.content and b"[redacted]" in page.content
    investigator = f.MembershipFactory(agency=alpha, role=Membership.Role.INVESTIGATOR).user
    client.force_login(investigator)  # leads the campaign: bravo is its partner
    page = client.get(f"/admin/auditlog/logentry/{entry.pk}/change/")
    assert b"Bravo Secret Agency" in page.content
