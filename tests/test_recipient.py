"""The recipient page: tokens, evidence, actions, limits and headers."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from letters import evidence, recipient
from letters.logfilters import RedactTokens
from letters.models import RecipientAction, RecipientToken, Response
from letters.retests import deferred_retests_run
from tests.factories import (
    AgencyFactory,
    CampaignFactory,
    HostFactory,
    LetterFactory,
    ProbeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_limits(settings):
    # A fresh key prefix per test: counters never leak between tests, on the
    # memory cache or on the real Redis alike.
    caches = {**settings.CACHES}
    caches["recipient"] = {**caches["recipient"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}
    settings.CACHES = caches
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"


@pytest.fixture
def letter():
    campaign = CampaignFactory(lead_agency=AgencyFactory(name="Federal Trade Commission"))
    campaign.partners.add(AgencyFactory(name="Industry Canada"))
    letter = LetterFactory(campaign=campaign, language="fr")
    host = HostFactory(ip="192.0.2.25")
    ProbeFactory(host=host, transcript="S: 220 <script>alert(1)</script> ESMTP\n")
    letter.hosts.add(host)
    return letter


def page_path(letter) -> str:
    url = recipient.recipient_url(letter=letter)
    return url.removeprefix(django_settings.OUTREACH_PUBLIC_URL)


def post(client: Client, letter, action: str, data: dict):
    prefixed = {f"{action}-{key}": value for key, value in data.items()}
    return client.post(f"{page_path(letter)}{action}/", prefixed)


# --- Tokens -----------------------------------------------------------------


def test_it_prints_an_absolute_link_with_a_192_bit_token(letter):
    url = recipient.recipient_url(letter=letter)
    match = re.fullmatch(r"https://outreach\.agency\.example/r/([A-Za-z0-9_-]{32})/", url)
    assert match
    assert len(base64.urlsafe_b64decode(match[1] + "=" * 4)) * 8 >= 192


def test_it_prints_no_link_without_a_public_url(letter, settings):
    settings.OUTREACH_PUBLIC_URL = ""
    assert recipient.recipient_url(letter=letter) == ""


def test_it_stores_only_the_hash_of_the_token(letter):
    raw = page_path(letter).split("/")[2]
    token = RecipientToken.objects.get(letter=letter)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(v) for v in RecipientToken.objects.filter(pk=token.pk).values().first().values()]
    assert not any(raw in value for value in stored)


def test_it_keeps_printing_the_same_link_until_revoked(letter, client):
    first = recipient.recipient_url(letter=letter)
    assert recipient.recipient_url(letter=letter) == first
    recipient.recipient_token_revoke(letter_id=letter.pk)
    second = recipient.recipient_url(letter=letter)
    assert second != first
    assert client.get(first.removeprefix("https://outreach.agency.example")).status_code == 404
    assert client.get(second.removeprefix("https://outreach.agency.example")).status_code == 200


def test_it_answers_404_to_a_guessed_token(letter, client):
    page_path(letter)
    assert client.get("/r/" + "A" * 32 + "/").status_code == 404
    assert client.get("/r/1/").status_code == 404
    assert client.post("/r/" + "A" * 32 + "/answer/", {"answer-message": "hi"}).status_code == 404


def test_it_answers_404_to_an_expired_token(letter, client):
    path = page_path(letter)
    RecipientToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(path)
    assert response.status_code == 404
    assert letter.agency.name not in response.content.decode()


# --- The page ---------------------------------------------------------------


def test_it_shows_the_evidence_escaped_and_nothing_of_other_letters(letter, client):
    other = LetterFactory()
    other_host = HostFactory(ip="198.51.100.77")
    other.hosts.add(other_host)
    ProbeFactory(host=other_host)
    html = client.get(page_path(letter)).content.decode()
    assert "192.0.2.25" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "198.51.100.77" not in html
    assert other.contact.email not in html
    assert "Federal Trade Commission" in html
    assert "Industry Canada" in html
    assert letter.campaign.instructions_url in html


def test_it_shows_the_latest_verdict_of_each_host(letter, client):
    host = letter.hosts.get()
    ProbeFactory(
        host=host,
        verdict="not_relay",
        started_at=timezone.now() + timedelta(minutes=1),
        transcript="S: 550 relaying denied\n",
    )
    html = client.get(page_path(letter) + "?lang=en").content.decode()
    assert "Not a relay: it refused our test messages" in html
    assert "Open relay" not in html
    assert "relaying denied" in html


def test_it_cuts_long_transcripts():
    from probes.evidence import TAIL_LINES

    excerpt = evidence.transcript_excerpt("\n".join(f"S: 250 line {i}" for i in range(100)))
    lines = excerpt.splitlines()
    assert lines[:2] == ["S: 250 line 0", "…"]
    assert lines[-1] == "S: 250 line 99"
    assert len(lines) == 2 + TAIL_LINES


def test_it_renders_in_the_letter_language_by_default(letter, client):
    response = client.get(page_path(letter))
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr" dir="ltr">' in response.content.decode()


@pytest.mark.parametrize("code", [code for code, _name in django_settings.LANGUAGES])
def test_it_renders_each_language(letter, client, code):
    response = client.get(page_path(letter), {"lang": code})
    assert response.status_code == 200
    assert response["Content-Language"] == code
    direction = "rtl" if code in {"ar", "he"} else "ltr"
    assert f'<html lang="{code}" dir="{direction}">' in response.content.decode()


@pytest.mark.parametrize("code", [c for c, _name in django_settings.LANGUAGES if c != "en"])
def test_it_translates_the_page_into_each_language(letter, client, code):
    from django.utils import translation

    html = client.get(page_path(letter), {"lang": code}).content.decode()
    with translation.override(code):
        heading = translation.gettext("What we found")
        button = translation.gettext("We fixed it: test again")
    assert heading != "What we found"
    assert button != "We fixed it: test again"
    assert heading in html
    assert button in html
    assert "What we found" not in html


def test_it_offers_every_language_in_its_switcher(letter, client):
    html = client.get(page_path(letter)).content.decode()
    for code, name in django_settings.LANGUAGES:
        assert name in html
        assert f'lang="{code}"' in html


def test_it_ignores_an_unknown_language(letter, client):
    response = client.get(page_path(letter), {"lang": "xx-evil"})
    assert response["Content-Language"] == "fr"


def test_it_counts_views_of_the_page(letter, client):
    path = page_path(letter)
    client.get(path)
    client.get(path)
    token = RecipientToken.objects.get(letter=letter)
    assert token.view_count == 2
    assert token.first_viewed_at <= token.last_viewed_at


# --- Headers ----------------------------------------------------------------


def test_it_sends_a_strict_csp_that_allows_only_its_own_style(letter, client):
    response = client.get(page_path(letter))
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp
    style = re.search(r"<style>(.*?)</style>", response.content.decode(), re.S)[1]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp


def test_it_leaks_the_token_to_no_referrer_or_cache(letter, client):
    for response in (client.get(page_path(letter)), client.get("/r/" + "B" * 32 + "/")):
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response["Content-Security-Policy"]


def test_it_loads_no_third_party_assets(letter, client):
    html = client.get(page_path(letter)).content.decode()
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert "@import" not in html


# --- Actions ----------------------------------------------------------------


def test_it_records_an_answer_as_a_web_response_and_audits_it(letter, client):
    response = post(client, letter, "answer", {"message": "We are looking into it."})
    assert response.status_code == 303
    assert "done=answer" in response["Location"]
    answer = Response.objects.get(letter=letter)
    assert (answer.channel, answer.kind) == (Response.Channel.WEB, Response.Kind.REPLY)
    assert answer.body == "We are looking into it."
    action = RecipientAction.objects.get(letter=letter)
    assert (action.action, action.response, action.client_ip) == ("answer", answer, "127.0.0.1")
    assert "Thank you" in client.get(response["Location"] + "&lang=en").content.decode()


def test_it_accepts_any_text_and_escapes_it_where_it_is_shown(letter, client, admin_client):
    text = (
        "Network Operations <noc@isp.example>\n"
        "RCPT TO:<relaytest@nmap.scanme.org> is refused now.\n<script>alert(1)</script>"
    )
    response = post(client, letter, "answer", {"message": text})
    assert response.status_code == 303
    answer = Response.objects.get(letter=letter)
    assert answer.body == text
    page = admin_client.get(
        f"/admin/{answer._meta.app_label}/response/{answer.pk}/change/"
    ).content.decode()
    assert "Network Operations &lt;noc@isp.example&gt;" in page
    assert "<script>alert(1)</script>" not in page


def test_it_refuses_an_answer_over_the_size_limit(letter, client):
    response = post(client, letter, "answer", {"message": "x" * 5001})
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_it_refuses_an_oversized_post_before_reading_it(letter, client):
    response = post(client, letter, "answer", {"message": "x" * 70_000})
    assert response.status_code == 413
    assert not Response.objects.exists()


def test_it_requires_csrf_on_every_form(letter):
    client = Client(enforce_csrf_checks=True)
    for action in ("answer", "fixed", "dispute", "optout"):
        data = {"message": "fixed", "reason": "wrong_contact"}
        assert post(client, letter, action, data).status_code == 403
    assert not Response.objects.exists()


def test_it_accepts_a_form_with_its_csrf_token(letter):
    client = Client(enforce_csrf_checks=True)
    html = client.get(page_path(letter)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    response = client.post(
        page_path(letter) + "answer/", {"answer-message": "ok", "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 303


def test_it_queues_a_retest_when_told_it_is_fixed(
    letter, client, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(recipient, "_retest_enqueue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, letter, "fixed", {"message": "Closed port 25 to the world."})
    assert "done=retest" in response["Location"]
    assert queued == [letter.pk]
    claim = Response.objects.get(letter=letter)
    assert (claim.channel, claim.kind) == ("web", "fixed_claim")
    assert set(RecipientAction.objects.values_list("action", flat=True)) == {
        "fixed_claim",
        "retest",
    }
    assert "re-test is under way" in client.get(page_path(letter) + "?lang=en").content.decode()


def test_it_allows_three_retests_a_day_per_letter(
    letter, client, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(recipient, "_retest_enqueue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        locations = [post(client, letter, "fixed", {})["Location"] for _ in range(4)]
    assert len(queued) == 3
    assert "done=retest_refused" in locations[-1]
    assert Response.objects.filter(kind="fixed_claim").count() == 4
    RecipientAction.objects.filter(action="retest").update(
        created_at=timezone.now() - timedelta(days=1, seconds=1)
    )
    assert recipient.retests_left(letter_id=letter.pk) == 3


def test_a_refused_retest_is_queued_later_as_the_page_promises(letter, client, monkeypatch):
    queued = []
    monkeypatch.setattr(recipient, "_retest_enqueue", queued.append)
    locations = [post(client, letter, "fixed", {})["Location"] for _ in range(4)]
    assert "done=retest_refused" in locations[-1]
    assert len(queued) == 3
    # Still within the day: the promise waits, nothing more is queued.
    assert deferred_retests_run(enqueue=queued.append) == []
    RecipientAction.objects.filter(action="retest").update(
        created_at=timezone.now() - timedelta(days=1, seconds=1)
    )
    assert deferred_retests_run(enqueue=queued.append) == [letter.pk]
    assert queued[-1] == letter.pk
    deferred = RecipientAction.objects.filter(action="retest").latest("created_at")
    assert deferred.detail["deferred"] is True
    # Kept once: the next run finds the promise kept.
    assert deferred_retests_run(enqueue=queued.append) == []


def test_a_probe_since_the_refusal_keeps_the_promise(letter, client, monkeypatch):
    monkeypatch.setattr(recipient, "_retest_enqueue", lambda letter_id: None)
    for _ in range(4):
        post(client, letter, "fixed", {})
    RecipientAction.objects.filter(action="retest").update(
        created_at=timezone.now() - timedelta(days=2)
    )
    ProbeFactory(host=letter.hosts.first(), started_at=timezone.now())
    assert deferred_retests_run(enqueue=lambda letter_id: None) == []


def test_it_records_a_dispute_with_a_better_contact(letter, client):
    response = post(
        client,
        letter,
        "dispute",
        {"reason": "not_our_network", "better_contact": "noc@other.example", "message": "Sold."},
    )
    assert response.status_code == 303
    dispute = Response.objects.get(letter=letter)
    assert (dispute.channel, dispute.kind) == ("web", "dispute")
    assert "noc@other.example" in dispute.body
    action = RecipientAction.objects.get(action="dispute")
    assert action.detail == {"reason": "not_our_network", "better_contact": "noc@other.example"}


def test_it_refuses_a_dispute_with_a_bad_contact(letter, client):
    response = post(
        client, letter, "dispute", {"reason": "wrong_contact", "better_contact": "not an address"}
    )
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_it_opts_the_contact_out(letter, client):
    response = post(client, letter, "optout", {"reason": "We outsourced our mail."})
    assert response.status_code == 303
    letter.contact.refresh_from_db()
    assert letter.contact.do_not_contact
    assert "We outsourced our mail." in letter.contact.do_not_contact_reason
    assert Response.objects.get(letter=letter).kind == "opt_out"
    assert RecipientAction.objects.get().action == "opt_out"


def test_it_audits_actions_where_the_agency_sees_them(letter, client):
    from outreach.models import Membership
    from tests.factories import MembershipFactory

    post(client, letter, "answer", {"message": "hello"})
    own = MembershipFactory(agency=letter.agency, role=Membership.Role.VIEWER).user
    stranger = MembershipFactory(role=Membership.Role.VIEWER).user
    assert RecipientAction.objects.for_user(own).count() == 1
    assert RecipientAction.objects.for_user(stranger).count() == 0
    assert Response.objects.for_user(own).count() == 1


# --- Limits -----------------------------------------------------------------


def test_it_blocks_an_address_that_guesses_tokens(letter, client, settings):
    settings.OUTREACH_RECIPIENT_MISSES_PER_HOUR = 5
    path = page_path(letter)
    for n in range(5):
        assert client.get(f"/r/{n:032d}/").status_code == 404
    assert client.get(f"/r/{6:032d}/").status_code == 429
    # The brake stops guesses, never the owner's own link from the same address.
    assert client.get(path).status_code == 200
    assert client.get(f"/r/{7:032d}/").status_code == 429
    other_ip = client.get(f"/r/{8:032d}/", REMOTE_ADDR="127.0.0.2")
    assert other_ip.status_code == 404


def test_it_limits_requests_per_address(letter, client, settings):
    settings.OUTREACH_RECIPIENT_IP_PER_HOUR = 3
    path = page_path(letter)
    assert [client.get(path).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get(path)["Retry-After"] == "3600"


def test_it_limits_posts_per_token(letter, client, settings):
    settings.OUTREACH_RECIPIENT_POSTS_PER_HOUR = 2
    path = page_path(letter) + "answer/"
    # From three addresses: the limit follows the token, not the address.
    codes = [
        client.post(path, {"answer-message": "hi"}, REMOTE_ADDR=f"127.0.0.{n + 2}").status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]
    assert Response.objects.count() == 2


def test_it_reads_the_client_address_behind_a_known_proxy(rf, settings):
    settings.OUTREACH_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.9.9.9, 127.0.0.5")
    assert recipient.client_ip(request) == "127.0.0.5"
    settings.OUTREACH_PROXY_COUNT = 0
    assert recipient.client_ip(request) == "127.0.0.1"


def test_it_stores_no_forged_address(letter, client, settings):
    settings.OUTREACH_PROXY_COUNT = 1
    response = client.post(
        page_path(letter) + "answer/",
        {"answer-message": "hello"},
        HTTP_X_FORWARDED_FOR="not-an-address",
    )
    assert response.status_code == 303
    # Not an address: the proxy's own view of the client is used instead.
    assert RecipientAction.objects.get().client_ip == "127.0.0.1"


# --- Logs -------------------------------------------------------------------


def test_it_redacts_tokens_from_log_records():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        "",
        0,
        '"%s" %s',
        ("GET /r/abcDEF_-123/fixed/ HTTP/1.1", 303),
        None,
    )
    RedactTokens().filter(record)
    assert record.getMessage() == '"GET /r/[redacted]/fixed/ HTTP/1.1" 303'


def test_it_keeps_tokens_out_of_the_404_warning(letter, client, caplog):
    guess = "C" * 32
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(f"/r/{guess}/")
        client.get(f"/r/{guess}/nothing-here/")
    assert caplog.records
    assert all(guess not in r.getMessage() for r in caplog.records)


def test_it_configures_the_redaction_on_the_server_and_request_loggers():
    config = django_settings.LOGGING
    assert "redact_tokens" in config["handlers"]["django.server"]["filters"]
    assert "redact_tokens" in config["loggers"]["django.request"]["filters"]
    assert "redact_tokens" in config["handlers"]["console"]["filters"]


# --- Admin ------------------------------------------------------------------


def test_it_lets_an_investigator_revoke_a_link_from_the_admin(letter, admin_client, client):
    path = page_path(letter)
    token = RecipientToken.objects.get(letter=letter)
    response = admin_client.post(
        "/admin/letters/recipienttoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert client.get(path).status_code == 404


def test_it_never_shows_the_secret_in_the_admin(letter, admin_client):
    page_path(letter)
    token = RecipientToken.objects.get(letter=letter)
    html = admin_client.get(f"/admin/letters/recipienttoken/{token.pk}/change/").content.decode()
    assert token.secret not in html
    assert token.token_hash not in html


# --- The letter links to its page --------------------------------------------


def test_it_prints_the_page_link_in_every_part_of_the_letter(letter, client):
    from letters.approval import recipient_link_issue
    from letters.compose import letter_compose

    # Links are issued at approval and sending (composing only reads them).
    recipient_link_issue(letter=letter)
    rendered = letter_compose(letter)
    url = recipient.recipient_url(letter=letter)
    assert url in rendered.text
    assert url in rendered.html
    assert url in rendered.print_html
    assert client.get(url.removeprefix("https://outreach.agency.example")).status_code == 200
    assert letter_compose(letter).text == rendered.text


def test_it_prints_no_link_when_there_is_no_public_url(letter, settings):
    from letters.compose import letter_compose

    settings.OUTREACH_PUBLIC_URL = ""
    assert "/r/" not in letter_compose(letter).text


@pytest.mark.parametrize(
    ("before", "after"),
    [("sent", "answered"), ("exported", "answered"), ("draft", "draft"), ("closed", "closed")],
)
def test_it_marks_a_written_letter_answered(letter, client, before, after):
    type(letter).objects.filter(pk=letter.pk).update(status=before)
    post(client, letter, "answer", {"message": "Got it."})
    letter.refresh_from_db()
    assert letter.status == after


def test_it_flags_a_dispute_for_investigators(letter, client):
    post(client, letter, "dispute", {"reason": "wrong_contact"})
    assert Response.objects.get(kind="dispute").outcome == "to investigate"


def test_it_prints_and_renews_a_link_from_the_command_line(letter, client):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("recipient_link", letter.pk, stdout=out)
    first = out.getvalue().strip()
    assert first == recipient.recipient_url(letter=letter)
    out = StringIO()
    call_command("recipient_link", letter.pk, "--renew", stdout=out)
    second = out.getvalue().strip()
    assert second != first
    assert client.get(first.removeprefix("https://outreach.agency.example")).status_code == 404
    with pytest.raises(CommandError, match="No letter"):
        call_command("recipient_link", 999_999)


def test_it_prints_the_link_as_json(letter):
    from io import StringIO

    from django.core.management import call_command

    from tests.command_io import json_lines

    out = StringIO()
    call_command("recipient_link", letter.pk, "--renew", "--json", stdout=out)
    letter.refresh_from_db()
    assert json_lines(out) == [
        {
            "summary": True,
            "letter": letter.pk,
            "url": recipient.recipient_url(letter=letter),
            "renewed": True,
        }
    ]


def test_it_answers_head_requests_like_get(letter, client):
    assert client.head(page_path(letter)).status_code == 200


def test_it_audits_the_real_client_address_not_a_forged_header(rf, settings):
    from outreach.security import AuditlogMiddleware

    settings.OUTREACH_PROXY_COUNT = 0
    forged = rf.get("/", REMOTE_ADDR="127.0.0.9", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert AuditlogMiddleware._get_remote_addr(forged) == "127.0.0.9"
    settings.OUTREACH_PROXY_COUNT = 1
    junk = rf.get("/", REMOTE_ADDR="127.0.0.9", HTTP_X_FORWARDED_FOR="not-an-address")
    assert AuditlogMiddleware._get_remote_addr(junk) == "127.0.0.9"
    assert "outreach.security.AuditlogMiddleware" in settings.MIDDLEWARE


def test_it_keeps_transcripts_and_addresses_left_to_right_in_rtl_pages(letter, client):
    html = client.get(page_path(letter), {"lang": "ar"}).content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert '<td dir="ltr">192.0.2.25</td>' in html
    assert '<pre dir="ltr">' in html
    assert "?:" not in html


def test_it_writes_every_action_to_the_shared_audit_log(letter, client, admin_client):
    from auditlog.models import LogEntry

    type(letter).objects.filter(pk=letter.pk).update(status="sent")
    post(client, letter, "answer", {"message": "hello"})
    post(client, letter, "optout", {"reason": "no thanks"})
    events = [(e.additional_data or {}).get("event") for e in LogEntry.objects.order_by("pk")]
    assert "recipient answer" in events
    assert "recipient opt_out" in events
    assert "status" in events  # the letter became answered
    assert "opt_out" in events  # the contact's do-not-contact flag
    token = RecipientToken.objects.get()
    admin_client.post(
        "/admin/letters/recipienttoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert LogEntry.objects.filter(additional_data__event="revoke").count() == 1


def test_it_counts_page_answers_on_the_agency_dashboard(letter, client):
    from letters.dashboard import campaign_figures
    from outreach.models import Membership
    from tests.factories import MembershipFactory

    type(letter).objects.filter(pk=letter.pk).update(status="sent", sent_at=timezone.now())
    post(client, letter, "dispute", {"reason": "wrong_contact"})
    viewer = MembershipFactory(agency=letter.agency, role=Membership.Role.VIEWER).user
    total = campaign_figures(user=viewer, campaign_id=letter.campaign_id)[-1]
    assert (total.sent, total.answered) == (1, 1)


# --- Error pages in the reader's language ------------------------------------


def test_an_unknown_link_answers_in_the_readers_language_and_offers_the_code(client):
    response = client.get(f"/r/{'x' * 32}/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 404
    assert response["Content-Language"] == "es"
    page = response.content.decode()
    assert 'lang="es"' in page and "/r/code/" in page


def test_a_too_long_message_is_refused_in_the_pages_language_with_a_way_back(letter, client):
    url = page_path(letter) + "answer/?lang=ar"
    response = client.post(url, {"answer-message": "x" * 70_000})
    assert response.status_code == 413
    page = response.content.decode()
    assert 'lang="ar"' in page and 'dir="rtl"' in page
    assert page_path(letter) in page  # the way back to the letter's page


def test_the_per_token_limit_keeps_what_the_reader_typed(letter, client, settings):
    settings.OUTREACH_RECIPIENT_POSTS_PER_HOUR = 1
    post(client, letter, "answer", {"message": "first"})
    response = post(client, letter, "answer", {"message": "Mon second message, à garder"})
    assert response.status_code == 429
    assert "Mon second message, à garder" in response.content.decode()
    assert Response.objects.filter(letter=letter).count() == 1


def test_a_csrf_failure_explains_cookies_keeps_the_text_and_links_back(letter):
    client = Client(enforce_csrf_checks=True)
    url = page_path(letter) + "answer/?lang=fr"
    response = client.post(url, {"answer-message": "Nous avons corrigé le relais."})
    assert response.status_code == 403
    page = response.content.decode()
    assert 'lang="fr"' in page
    assert "cookie" in page.lower()
    assert "Nous avons corrigé le relais." in page
    assert page_path(letter) in page
    assert not Response.objects.exists()


def test_reloading_a_form_url_shows_the_page_again(letter, client):
    response = client.get(page_path(letter) + "answer/?lang=de")
    assert response.status_code == 303
    assert response["Location"] == page_path(letter) + "?lang=de"
    assert client.get(response["Location"]).status_code == 200
