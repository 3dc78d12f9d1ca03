"""Admin actions say what they did, skipped and failed, at the matching level."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from letters.models import Letter
from outreach.admin_feedback import ActionReport
from outreach.models import Membership
from tests.factories import (
    AgencyFactory,
    CampaignFactory,
    FeedFactory,
    LetterFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db


def test_it_never_reports_nothing_done_as_a_success():
    report = ActionReport("%(count)d letter(s) approved.")
    report.skip(7, "not a draft (sent)")
    report.skip(8, "not a draft (sent)")
    assert report.messages() == [
        (messages.WARNING, "0 letter(s) approved."),
        (messages.WARNING, "Skipped 2: not a draft (sent) (7, 8)."),
    ]


def test_it_reports_failures_as_errors_and_successes_in_green():
    report = ActionReport("%(count)d done.")
    report.ok(1)
    report.fail(2, "smarthost refused")
    assert report.messages() == [
        (messages.SUCCESS, "1 done."),
        (messages.ERROR, "Failed 1: smarthost refused (2)."),
    ]
    only_failed = ActionReport("%(count)d done.")
    only_failed.fail(None, "down", count=3)
    assert only_failed.messages() == [
        (messages.ERROR, "0 done."),
        (messages.ERROR, "Failed 3: down."),
    ]


def test_it_shortens_a_long_list_of_names():
    report = ActionReport("%(count)d done.")
    for pk in range(15):
        report.skip(pk, "why")
    assert report.messages()[1][1] == "Skipped 15: why (0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 5 more)."


def _coordinator(agency):
    user = MembershipFactory(agency=agency, role=Membership.Role.COORDINATOR).user
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="letters"))
    return user


def _levels(response):
    return [(m.level, m.message) for m in get_messages(response.wsgi_request)]


def _run_action(client: Client, changelist: str, action: str, rows: list[Model]) -> HttpResponse:
    """Runs an admin action on ``rows`` of the ``changelist`` (say "letters_letter")
    and follows the redirect back, so the response carries the messages it left."""
    return client.post(
        reverse(f"admin:{changelist}_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def test_it_approves_drafts_and_warns_about_the_rest_with_reasons(client):
    agency = AgencyFactory()
    draft = LetterFactory(campaign=CampaignFactory(lead_agency=agency), status=Letter.Status.DRAFT)
    sent = LetterFactory(campaign=draft.campaign, status=Letter.Status.SENT)
    client.force_login(_coordinator(agency))
    response = _run_action(client, "letters_letter", "approve_selected", [draft, sent])
    assert _levels(response) == [
        (messages.SUCCESS, "1 letter approved."),
        (messages.WARNING, f"Skipped 1: not a draft (sent) ({sent.pk})."),
    ]
    assert Letter.objects.get(pk=draft.pk).status == Letter.Status.APPROVED


def test_it_warns_when_no_selected_letter_could_be_approved(client):
    agency = AgencyFactory()
    sent = LetterFactory(campaign=CampaignFactory(lead_agency=agency), status=Letter.Status.SENT)
    client.force_login(_coordinator(agency))
    response = _run_action(client, "letters_letter", "approve_selected", [sent])
    levels = _levels(response)
    assert levels[0] == (messages.WARNING, "0 letters approved.")
    assert (
        "messagelist" in response.content.decode()
        and 'class="warning"' in response.content.decode()
    )


def test_it_skips_feeds_without_a_url_with_the_reason(admin_client):
    feed = FeedFactory(name="uploads-only", url="")
    response = _run_action(admin_client, "probes_feed", "import_now", [feed])
    levels = _levels(response)
    assert levels[0] == (messages.WARNING, "0 feed imports queued.")
    assert levels[1][0] == messages.WARNING and "uploads-only" in levels[1][1]
    assert "no URL" in levels[1][1]
