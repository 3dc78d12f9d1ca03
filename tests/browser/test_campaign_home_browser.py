"""The campaign home, the searches and an action's mixed results, in Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from letters.models import Letter
from outreach.models import Membership
from tests.browser.conftest import admin_login, shot
from tests.factories import HostFactory, LetterFactory, NetworkFactory
from tests.test_campaign_home import campaign_world, user_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
# The README's screenshot is refreshed on request (OUTREACH_DOCS_SCREENSHOTS=1),
# so a test run never rewrites a tracked file.
DOCS = Path(__file__).resolve().parents[2] / "docs"
DOCS_REFRESH = os.environ.get("OUTREACH_DOCS_SCREENSHOTS") == "1"


@pytest.fixture
def world():
    return campaign_world()


def _count(text: str) -> int:
    return int(re.sub(r"\D", "", text) or 0)


def _rows(page) -> int:
    """Rows of the changelist (every list here is shorter than one page)."""
    if page.locator("#result_list").count() == 0:
        return 0
    return page.locator("#result_list tbody tr").count()


def _check_queues(page, live_server, home_url: str, name: str) -> dict[str, int]:
    page.goto(home_url)
    shot(page, name)
    found = {}
    items = page.locator("#queues li, #funnel li, #outcomes li")
    links = [
        (item.get_attribute("data-queue") or item.get_attribute("data-stage"),
         _count(item.locator(".outreach-count").inner_text()),
         item.locator("a").get_attribute("href"))
        for item in items.all()
    ]  # fmt: skip
    assert links
    for key, count, href in links:
        page.goto(f"{live_server.url}{href}")
        assert _rows(page) == count, (key, href)
        found[key] = count
    return found


def test_the_campaign_home_counts_match_their_lists_for_an_investigator(page, live_server, world):
    campaign, ftc, _accc = world
    user = user_of(ftc, Membership.Role.INVESTIGATOR)
    page.set_viewport_size({"width": 1366, "height": 900})
    admin_login(page, live_server, user.username, PASSWORD)
    # The admin index links to the home.
    page.click(f"#campaign-homes a:text('{campaign.name}')")
    assert page.url.endswith(f"/admin/outreach/campaign/{campaign.pk}/")
    assert page.locator("#by-agency svg").count() == 1
    assert "days left" in page.locator("#deadline").inner_text()
    shot(page, "campaign-home")
    if DOCS_REFRESH:
        page.screenshot(path=str(DOCS / "campaign-home.png"), full_page=True)
    found = _check_queues(page, live_server, page.url, "campaign-home-investigator")
    assert found["to_approve"] == 2 and found["unhandled"] == 3 and found["built"] == 10
    # At 1366 px the letter and host lists fit the window: long cells wrap.
    for path in ("letters/letter/", "outreach/host/", "outreach/response/"):
        page.goto(f"{live_server.url}/admin/{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, (path, width)
    # The edit form is one click away.
    page.goto(f"{live_server.url}/admin/outreach/campaign/{campaign.pk}/")
    page.click("#edit-campaign")
    assert page.url.endswith(f"/admin/outreach/campaign/{campaign.pk}/change/")
    assert page.locator("input[name=name]").input_value() == campaign.name


def test_the_campaign_home_counts_only_the_partners_own_part(page, live_server, world):
    campaign, _ftc, accc = world
    user = user_of(accc, Membership.Role.COORDINATOR)
    admin_login(page, live_server, user.username, PASSWORD)
    home_url = f"{live_server.url}/admin/outreach/campaign/{campaign.pk}/"
    found = _check_queues(page, live_server, home_url, "campaign-home-partner")
    assert found["built"] == 2 and found["to_approve"] == 1 and found["imported"] == 1
    page.goto(home_url)
    table = page.locator("#by-agency table").inner_text()
    assert "ACCC" in table and "FTC" not in table


def test_hosts_are_found_by_prefix_cidr_and_as(page, live_server, world):
    _campaign, ftc, _accc = world
    net = NetworkFactory(cidr="198.51.100.0/24", asn=64500, agency=ftc)
    for ip in ["198.51.100.9", "198.51.100.10", "198.51.100.200"]:
        HostFactory(ip=ip, agency=ftc, network=net)
    HostFactory(ip="198.51.101.9", agency=ftc)
    user = user_of(ftc, Membership.Role.INVESTIGATOR)
    admin_login(page, live_server, user.username, PASSWORD)
    expected = {
        "198.51.100.": {"198.51.100.9", "198.51.100.10", "198.51.100.200"},
        "198.51.100.0/25": {"198.51.100.9", "198.51.100.10"},
        "AS64500": {"198.51.100.9", "198.51.100.10", "198.51.100.200"},
    }
    for term, ips in expected.items():
        page.goto(f"{live_server.url}/admin/outreach/host/")
        page.fill("#searchbar", term)
        page.press("#searchbar", "Enter")
        page.wait_for_load_state()
        shown = set(
            page.locator(
                "#result_list tbody th a, #result_list tbody td.field-ip a"
            ).all_inner_texts()
        )
        assert shown == ips, term
        shot(page, f"host-search-{re.sub(r'[^0-9a-zA-Z]+', '-', term)}")


def test_an_action_with_mixed_results_shows_a_warning_with_the_reason(page, live_server, world):
    campaign, ftc, _accc = world
    user = user_of(ftc, Membership.Role.COORDINATOR)
    sent = Letter.objects.filter(campaign=campaign, agency=ftc, status=Letter.Status.SENT).first()
    draft = LetterFactory(campaign=campaign, agency=ftc, status=Letter.Status.DRAFT)
    admin_login(page, live_server, user.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/letters/letter/?campaign__id__exact={campaign.pk}")
    page.check(f"input[name=_selected_action][value='{sent.pk}']")
    page.check(f"input[name=_selected_action][value='{draft.pk}']")
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    page.wait_for_load_state()
    shot(page, "action-mixed-results")
    assert page.locator(".messagelist li.success").inner_text() == "1 letter approved."
    warning = page.locator(".messagelist li.warning").inner_text()
    assert warning == f"Skipped 1: not a draft (sent) ({sent.pk})."
