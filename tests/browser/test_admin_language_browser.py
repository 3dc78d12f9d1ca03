"""The admin in Spanish or Japanese, with no English left on the campaign pages (issue 20).

Each campaign page is read twice in Chromium, once in English and once in the
user's chosen language. A text that shows identically in both is a string we
forgot to translate, unless it is data (names, addresses, numbers from the
database) or a word that is the same in both languages (listed below).
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models

from letters.models import Letter, Response
from outreach.models import Agency, AgencyText, Campaign, Contact, Host, Membership, Network
from outreach.services import user_language_set
from tests.browser.conftest import admin_login, shot
from tests.test_campaign_home import campaign_world, user_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"
WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
CODE = re.compile(r"[a-z]+(?:_[a-z]+)+")
# Codes, units and names that every language here writes as English does.
CODES_AND_NAMES = {
    "outreach",
    "cidr",
    "asn",
    "as",
    "dns",
    "ptr",
    "url",
    "csv",
    "sha",
    "message-id",
    "etag",
    "starttls",
    "rdap",
    "smtp",
    "tls",
    "pdf",
    "utc",
    "id",
    "ip",
    "iso",
    "totp",
    "gzip",
    "last-modified",
    "html",
}
# Words Spanish spells as English does.
SAME_IN_BOTH = {"es": CODES_AND_NAMES | {"host", "hosts", "error", "web", "total"}}
SAME_IN_BOTH["ja"] = CODES_AND_NAMES
TEXTS = """() => {
  const out = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode;
    const parent = node.parentElement;
    if (!parent || ["SCRIPT", "STYLE", "TEMPLATE"].includes(parent.tagName)) continue;
    // Text marked as another language (a letter previewed in its own) is not the admin's.
    if (parent.closest("[lang]") !== document.documentElement) continue;
    if (node.textContent.trim()) out.push(node.textContent.trim());
  }
  const labelled = "[title], [placeholder], [aria-label], input[type=submit]";
  for (const el of document.querySelectorAll(labelled)) {
    for (const name of ["title", "placeholder", "aria-label"]) {
      if (el.getAttribute(name)) out.push(el.getAttribute(name).trim());
    }
    if (el.type === "submit" && el.value) out.push(el.value.trim());
  }
  return out;
}"""


def _data_words() -> set[str]:
    """Every word of every text value in the database (names, addresses, subjects),
    except the codes of fields with choices."""
    words: set[str] = set()
    for model in (Agency, AgencyText, Campaign, Contact, Host, Network, Letter, Response,
                  get_user_model()):  # fmt: skip
        # Fields with choices hold codes, not data: their labels must show instead.
        texts = (models.CharField, models.TextField)
        fields = [f.name for f in model._meta.fields if isinstance(f, texts) and not f.choices]
        for row in model.objects.values_list(*fields):
            for value in row:
                words |= {w.lower() for w in WORD.findall(str(value or ""))}
    # The languages' own names, as the language menus show them.
    return words | {w.lower() for _code, name in settings.LANGUAGES for w in WORD.findall(name)}


def _english_left(english: set[str], other: set[str], data: set[str], language: str) -> set[str]:
    left = set()
    for text in english & other:
        words = {w.lower() for w in WORD.findall(text)}
        words -= data | SAME_IN_BOTH[language]
        if any(len(w) >= 3 for w in words):
            left.add(text)
    # A stored code shown as it is (open_relay, not_fixed) is English too.
    return left | {text for text in other if CODE.fullmatch(text)}


def _pages(campaign: Campaign, letter: Letter, host: Host) -> list[str]:
    return [
        "/admin/",
        f"/admin/outreach/campaign/{campaign.pk}/",
        f"/admin/outreach/campaign/{campaign.pk}/dashboard/",
        "/admin/outreach/campaign/",
        "/admin/outreach/host/",
        f"/admin/outreach/host/{host.pk}/change/",
        "/admin/letters/letter/",
        f"/admin/letters/letter/{letter.pk}/change/",
        "/admin/letters/response/",
        f"/admin/letters/letter/{letter.pk}/preview/",
        "/admin/outreach/network/",
        "/admin/outreach/contact/",
        "/admin/outreach/agency/",
        "/admin/probes/feed/",
        "/admin/probes/probe/",
        "/admin/probes/contactdispute/",
        "/admin/letters/recipienttoken/",
        "/admin/preferences/",
    ]


@pytest.mark.parametrize("language", ["es", "ja"])
def test_the_campaign_pages_speak_only_the_chosen_language(page, live_server, language):
    campaign, _ftc, accc = campaign_world()
    user = user_of(accc, Membership.Role.COORDINATOR)
    user.set_password(PASSWORD)
    user.save()
    letter = Letter.objects.filter(agency=accc).first()
    host = Host.objects.filter(agency=accc).first()
    admin_login(page, live_server, user.username, PASSWORD)
    data = _data_words() | {user.username.lower()}
    problems = {}
    for path in _pages(campaign, letter, host):
        seen = {}
        for shown in ("en", language):
            user_language_set(user=user, language=shown)
            page.goto(f"{live_server.url}{path}")
            assert page.locator("html").get_attribute("lang") == shown, path
            seen[shown] = set(page.evaluate(TEXTS))
        shot(page, f"admin-{language}-{path.strip('/').replace('/', '-') or 'index'}")
        left = _english_left(seen["en"], seen[language], data, language)
        if left:
            problems[path] = sorted(left)
    assert problems == {}
