"""The recipient page in a real headless Chromium, served by a live server on loopback."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from django.db import connections

from letters import recipient
from outreach.models import Response
from tests.factories import AgencyFactory, CampaignFactory, HostFactory, LetterFactory, ProbeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser_page(monkeypatch):
    if not CHROMIUM:
        pytest.skip("chromium is not installed: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test makes between page actions are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        violations: list[str] = []
        page.on("console", lambda msg: violations.append(msg.text) if msg.type == "error" else None)
        page.violations = violations
        yield page
        browser.close()
        # Django keys its connections by context, and Playwright's sync API
        # switches contexts: the ORM calls made while it ran opened their own
        # connection, which would keep the test database from being dropped.
        connections.close_all()


@pytest.fixture
def server(settings):
    """A live server of our own, started after the test settings apply.

    The session-wide ``live_server`` builds its middleware once, before the
    per-test settings; in production mode its SecurityMiddleware would then
    redirect the browser to https.
    """
    from pytest_django.live_server_helper import LiveServer

    live = LiveServer("localhost", start=False)
    live._live_server_modified_settings.enable()
    live.start()
    yield live
    live.stop()
    live._live_server_modified_settings.disable()


@pytest.fixture
def letter_url(server, settings):
    caches = {**settings.CACHES}
    caches["recipient"] = {**caches["recipient"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}
    settings.CACHES = caches
    settings.OUTREACH_PUBLIC_URL = server.url
    campaign = CampaignFactory(lead_agency=AgencyFactory(name="Federal Trade Commission"))
    letter = LetterFactory(campaign=campaign, language="de")
    host = HostFactory(ip="192.0.2.77")
    ProbeFactory(host=host, transcript="S: 220 relay.isp.example ESMTP\nC: EHLO probe\n")
    letter.hosts.add(host)
    return letter, recipient.recipient_url(letter=letter)


def test_it_shows_the_page_and_takes_an_answer_in_a_browser(letter_url, browser_page):
    assert os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] == "true"
    letter, url = letter_url
    page = browser_page
    response = page.goto(url)
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "de"
    assert "192.0.2.77" in page.inner_text("table")
    page.click("summary")
    assert "relay.isp.example ESMTP" in page.inner_text("pre")
    # The inlined style sheet is allowed by the CSP hash: it really applies.
    assert page.eval_on_selector("h1", "e => getComputedStyle(e).color") == "rgb(26, 58, 107)"

    page.click("nav.languages >> text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    page.fill("#id_answer-message", "We closed the relay this morning.")
    page.click("form[action*='/answer/'] button")
    assert "Your answer has been sent" in page.inner_text("[role=status]")
    assert page.violations == []

    answer = Response.objects.get(letter=letter)
    assert (answer.channel, answer.body) == ("web", "We closed the relay this morning.")
