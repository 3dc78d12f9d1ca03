from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from letters import outbox, tasks
from letters.models import Letter, Response
from letters.outbox import DELIVERY_UNKNOWN
from outreach.models import Membership
from tests.factories import (
    AgencyFactory,
    CampaignFactory,
    LetterFactory,
    MembershipFactory,
    ResponseFactory,
    UserFactory,
)
from tests.letter_content import content

pytestmark = pytest.mark.django_db


def coordinator(agency, *perms):
    user = MembershipFactory(agency=agency, role=Membership.Role.COORDINATOR).user
    for codename in ("view_campaign", "change_campaign", "change_letter", *perms):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def campaign():
    campaign = CampaignFactory(lead_agency=AgencyFactory(code="ftc"))
    LetterFactory.create_batch(2, campaign=campaign, status=Letter.Status.APPROVED)
    return campaign


def test_the_send_action_previews_the_first_message_then_enqueues(
    client, campaign, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(outbox, "rendered_content", content)
    queued = []
    monkeypatch.setattr(tasks.letters_send_task, "delay", lambda *a: queued.append(a))
    client.force_login(coordinator(campaign.lead_agency, "send_letter"))
    url = reverse("admin:outreach_campaign_changelist")
    data = {"action": "send_approved_letters", "_selected_action": [campaign.pk]}

    page = client.post(url, data)
    assert page.status_code == 200
    assert b"Auto-Submitted: auto-generated" in page.content
    assert b"2 approved letters" in page.content
    assert queued == []

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {**data, "confirm": "yes"})
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:campaign_outbox", args=[campaign.pk])
    assert queued == [(campaign.pk, campaign.lead_agency_id)]


def test_the_send_action_needs_the_send_permission(
    client, campaign, django_capture_on_commit_callbacks
):
    # A coordinator's role carries the send permission (outreach.roles); a
    # viewer's does not, and a viewer is not even offered the action.
    viewer = MembershipFactory(agency=campaign.lead_agency, role=Membership.Role.VIEWER).user
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)
    url = reverse("admin:outreach_campaign_changelist")
    data = {"action": "send_approved_letters", "_selected_action": [campaign.pk], "confirm": "yes"}
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(url, data)
    assert response.status_code in {200, 403}
    assert queued == []
    assert b"Sending started" not in response.content


def test_the_progress_page_counts_letters_and_is_scoped(client, campaign):
    client.force_login(coordinator(campaign.lead_agency))
    page = client.get(reverse("admin:campaign_outbox", args=[campaign.pk]))
    assert page.status_code == 200
    assert b"<td>Approved</td><td>2</td>" in page.content
    client.force_login(coordinator(AgencyFactory(code="accc")))
    assert client.get(reverse("admin:campaign_outbox", args=[campaign.pk])).status_code == 404


def test_an_investigator_requeues_letters_whose_delivery_is_unknown(client, campaign):
    letter = campaign.letters.first()
    Letter.objects.filter(id=letter.id).update(
        status=Letter.Status.FAILED, outcome=DELIVERY_UNKNOWN
    )
    client.force_login(coordinator(campaign.lead_agency, "send_letter"))
    client.post(
        reverse("admin:letters_letter_changelist"),
        {"action": "requeue_unknown", "_selected_action": [letter.pk]},
    )
    letter.refresh_from_db()
    assert (letter.status, letter.outcome) == (Letter.Status.APPROVED, "")


def test_an_investigator_marks_a_reply_as_an_opt_out(client):
    response = ResponseFactory()
    user = coordinator(response.letter.agency, "change_response", "view_response")
    client.force_login(user)
    client.post(
        reverse("admin:letters_response_changelist"),
        {"action": "mark_opt_out", "_selected_action": [response.pk]},
    )
    response.refresh_from_db()
    response.letter.contact.refresh_from_db()
    assert (response.kind, response.handled_by) == (Response.Kind.OPT_OUT, user)
    assert response.letter.contact.do_not_contact


def test_assigning_an_unmatched_bounce_in_the_admin_counts_it(admin_client):
    from letters.inbound import mail_ingest
    from tests.test_inbound import sample

    letter = LetterFactory(status=Letter.Status.SENT)
    bounce = mail_ingest(raw=sample("postfix_01.txt"))
    assert bounce.letter is None
    queue = admin_client.get(reverse("admin:letters_response_changelist") + "?matched=no")
    assert bounce.subject.encode() in queue.content

    url = reverse("admin:letters_response_change", args=[bounce.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        received_at_0=bounce.received_at.strftime("%Y-%m-%d"),
        received_at_1=bounce.received_at.strftime("%H:%M:%S"),
        letter=letter.pk,
    )
    assert admin_client.post(url, data).status_code == 302

    letter.refresh_from_db()
    letter.contact.refresh_from_db()
    assert letter.status == Letter.Status.BOUNCED
    assert letter.contact.bounce_score == 1.0


def test_a_partner_coordinator_only_sends_their_own_agencys_letters(
    client, campaign, monkeypatch, django_capture_on_commit_callbacks
):
    partner = AgencyFactory(code="accc")
    campaign.partners.add(partner)
    LetterFactory(campaign=campaign, agency=partner, status=Letter.Status.APPROVED)
    queued = []
    monkeypatch.setattr(tasks.letters_send_task, "delay", lambda *a: queued.append(a))
    client.force_login(coordinator(partner, "send_letter"))
    data = {"action": "send_approved_letters", "_selected_action": [campaign.pk], "confirm": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:outreach_campaign_changelist"), data)
    assert queued == [(campaign.pk, partner.pk)]


def response_add(client, **fields):
    """Post the admin's add form for a Response: every field empty but these."""
    url = reverse("admin:letters_response_add")
    data = dict.fromkeys(client.get(url).context["adminform"].form.fields, "")
    data.update(received_at_0="2026-11-27", received_at_1="10:00:00", **fields)
    return client.post(url, data)


def test_a_fixed_claim_logged_from_a_phone_call_reprobes(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    letter = LetterFactory(status=Letter.Status.SENT)
    queued = []
    monkeypatch.setattr(tasks.letters_remediate_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        added = response_add(
            admin_client,
            letter=letter.pk,
            channel=Response.Channel.PHONE,
            kind=Response.Kind.FIXED_CLAIM,
            body="The admin called: relay closed.",
        )
    assert added.status_code == 302
    assert queued == [[letter.id]]
    assert Response.objects.get().channel == Response.Channel.PHONE


def test_a_response_entered_in_the_admin_keeps_every_field_of_the_form(admin_client):
    # Before, the admin copied nine fields into the service and dropped the
    # rest: a bounce's severity and the chosen handler were lost.
    letter = LetterFactory(status=Letter.Status.SENT)
    handler = UserFactory()
    added = response_add(
        admin_client,
        letter=letter.pk,
        channel=Response.Channel.EMAIL,
        kind=Response.Kind.BOUNCE,
        severity=Response.Severity.HARD,
        handled_by=handler.pk,
        sender="postmaster@isp.example",
        body="Forwarded by the ISP: the mailbox does not exist.",
    )
    assert added.status_code == 302
    response = Response.objects.get()
    assert (response.severity, response.handled_by) == (Response.Severity.HARD, handler)
    assert response.sender == "postmaster@isp.example"
    # The admin went on with the stored object: its log entry names it.
    entry = LogEntry.objects.get(action_flag=ADDITION)
    assert entry.object_id == str(response.pk)
    # A bounce is not an answer.
    letter.refresh_from_db()
    assert letter.status == Letter.Status.SENT
