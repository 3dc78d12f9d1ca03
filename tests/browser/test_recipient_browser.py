"""The recipient page in a real browser: evidence, language switch, an answer."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections

from letters import recipient
from letters.models import Response
from tests.browser.conftest import shot
from tests.factories import AgencyFactory, CampaignFactory, HostFactory, LetterFactory, ProbeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def letter_url(page, live_server, settings):
    caches = {**settings.CACHES}
    caches["recipient"] = {**caches["recipient"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}
    settings.CACHES = caches
    settings.OUTREACH_PUBLIC_URL = live_server.url
    campaign = CampaignFactory(lead_agency=AgencyFactory(name="Federal Trade Commission"))
    letter = LetterFactory(campaign=campaign, language="de")
    host = HostFactory(ip="192.0.2.77")
    ProbeFactory(host=host, transcript="S: 220 relay.isp.example ESMTP\nC: EHLO probe\n")
    letter.hosts.add(host)
    yield letter, recipient.recipient_url(letter=letter)
    # Playwright's sync API switches contexts, and Django keys connections by
    # context: close, while the browser still runs, the ones the test opened
    # meanwhile, so the test database can be dropped at the end of the run.
    connections.close_all()


def test_a_recipient_sees_the_evidence_and_answers_in_a_browser(letter_url, page):
    letter, url = letter_url
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    assert page.goto(url).status == 200
    assert page.locator("html").get_attribute("lang") == "de"
    assert "192.0.2.77" in page.inner_text("table")
    page.click("summary")
    assert "relay.isp.example ESMTP" in page.inner_text("pre")
    # The inlined style sheet is allowed by its CSP hash: it really applies.
    assert page.eval_on_selector("h1", "e => getComputedStyle(e).color") == "rgb(26, 58, 107)"
    shot(page, "recipient-page-de")

    page.click("nav.languages >> text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    page.fill("#id_answer-message", "We closed the relay this morning.")
    page.click("form[action*='/answer/'] button")
    assert "Your answer has been sent" in page.inner_text("[role=status]")
    shot(page, "recipient-page-answered")
    # A CSP violation or a blocked asset shows up as a console error.
    assert errors == []

    answer = Response.objects.get(letter=letter)
    assert (answer.channel, answer.body) == ("web", "We closed the relay this morning.")
