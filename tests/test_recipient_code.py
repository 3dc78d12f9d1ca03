"""Typing the link from paper: a short, forgiving code with a check character, and a QR code."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client

from letters import recipient, shortcode
from letters.compose import letter_compose, letter_pdf
from tests.factories import CampaignFactory, LetterFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

KEY = "test-key"


def test_the_code_is_grouped_crockford_with_a_check_character():
    code = shortcode.code_derive("a secret", KEY)
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4, 2]
    assert not set(code) & set("ILOU")
    assert code == shortcode.code_derive("a secret", KEY)
    assert code != shortcode.code_derive("another secret", KEY)


def test_typing_is_forgiving_about_case_spaces_dashes_and_look_alikes():
    code = shortcode.code_derive("a secret", KEY)
    compact = code.replace("-", "")
    typed = " ".join(code.lower().split("-")).replace("0", "o").replace("1", "l")
    assert shortcode.code_normalise(typed) == compact


@pytest.mark.parametrize("secret", [f"secret-{n}" for n in range(40)])
def test_the_check_characters_catch_one_wrong_character_and_two_swapped(secret):
    compact = shortcode.code_derive(secret, KEY).replace("-", "")
    for index in range(len(compact)):
        for char in shortcode.ALPHABET:
            if char != compact[index]:
                typo = compact[:index] + char + compact[index + 1 :]
                assert shortcode.code_normalise(typo) is None
    for index in range(len(compact) - 1):
        a, b = compact[index], compact[index + 1]
        if a != b:
            swapped = compact[:index] + b + a + compact[index + 2 :]
            assert shortcode.code_normalise(swapped) is None


# --- the page where the code is typed --------------------------------------------------


@pytest.fixture(autouse=True)
def _own_limits(settings):
    # The code is printed only where a public URL is set (CI runs without one).
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"
    caches = {**settings.CACHES}
    caches["recipient"] = {**caches["recipient"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}
    settings.CACHES = caches


@pytest.fixture
def letter(db):
    return LetterFactory(campaign=CampaignFactory(), language="fr")


def typed_code(letter) -> str:
    _url, _entry, code = recipient.recipient_link(letter=letter)
    return code


def test_a_typed_code_opens_the_letters_page(letter):
    client = Client(enforce_csrf_checks=False)
    code = typed_code(letter)
    sloppy = code.lower().replace("-", " ")
    response = client.post("/r/code/?lang=fr", {"code": sloppy})
    assert response.status_code == 303
    page_url = recipient.recipient_url(letter=letter).removeprefix(
        django_settings.OUTREACH_PUBLIC_URL
    )
    assert response["Location"].startswith(page_url)
    assert client.get(response["Location"]).status_code == 200


def test_a_typo_is_named_and_does_not_count_as_a_guess(letter, settings):
    settings.OUTREACH_RECIPIENT_MISSES_PER_HOUR = 1
    client = Client()
    code = typed_code(letter)
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")  # one wrong check character
    for _ in range(3):
        response = client.post("/r/code/?lang=en", {"code": typo})
        assert response.status_code == 400
        assert "typo" in response.content.decode()
    assert client.post("/r/code/", {"code": code}).status_code == 303


def test_an_unknown_code_counts_against_the_brake(letter, settings):
    settings.OUTREACH_RECIPIENT_MISSES_PER_HOUR = 2
    client = Client()
    unknown = shortcode.code_derive("nobody's secret", KEY)
    assert [client.post("/r/code/", {"code": unknown}).status_code for _ in range(3)] == [
        404,
        404,
        429,
    ]


def test_the_code_page_asks_in_the_readers_language(db):
    page = Client().get("/r/code/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in page


# --- on paper ------------------------------------------------------------------------


@pytest.mark.usefixtures("compiled_catalogs")
def test_the_pdf_prints_the_code_and_a_qr_code_of_the_link(db):
    letter = letter_with_relays(language="en")
    code = typed_code(letter)
    rendered = letter_compose(letter)
    assert 'class="qr" src="data:image/svg+xml;base64,' in rendered.print_html
    assert code in rendered.print_html
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=letter_pdf(letter), capture_output=True, check=True
    ).stdout.decode()
    assert code in text
    # A long address may wrap at its slashes: read it with the line breaks removed.
    assert "https://outreach.agency.example/r/code/" in "".join(text.split())
