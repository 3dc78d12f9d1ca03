from __future__ import annotations

import subprocess
import unicodedata

import pytest
from weasyprint.urls import FatalURLFetchingError

from letters import pdf
from letters.compose import letter_pdf
from letters.pdf import StrictURLFetcher, html_to_pdf
from tests.factories import ContactFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

# Words that survive the PDF → pdftotext round trip in each language (poppler
# swaps some Arabic ligatures and loses a Thai vowel, so pick words without them).
KEY_WORDS = {
    "en": "Dear network administrator",
    "fr": "Madame, Monsieur",
    "es": "Estimado administrador de red",
    "pt": "Caro administrador de rede",
    "de": "Sehr geehrte Damen und Herren",
    "it": "Gentile amministratore di rete",
    "nl": "Geachte netwerkbeheerder",
    "pl": "Szanowni Państwo",
    "ru": "Уважаемый администратор сети",
    "uk": "Шановний адміністраторе мережі",
    "tr": "Sayın ağ yöneticisi",  # noqa: RUF001 - Turkish dotless i
    "ar": "مدير الشبكة",
    "he": "לכבוד מנהל הרשת",
    "ja": "ネットワーク管理者様",
    "zh-hans": "尊敬的网络管理员",
    "ko": "네트워크 관리자님께",
    "vi": "Kính gửi quản trị viên mạng",
    "id": "Yth. Administrator Jaringan",
    "th": "ฐานข้อมูลสาธารณะหลายแห่ง",
    "sv": "Till nätverksadministratören",
    "el": "Αξιότιμε διαχειριστή δικτύου",
    "ro": "Stimate administrator de rețea",
    "cs": "Vážený správce sítě",
}
BIDI_MARKS = dict.fromkeys(range(0x202A, 0x202F))


def pdf_text(data: bytes, *args: str) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *args, "-", "-"], input=data, capture_output=True, check=True
    )
    return unicodedata.normalize("NFC", result.stdout.decode().translate(BIDI_MARKS))


@pytest.mark.parametrize("language", sorted(KEY_WORDS))
def test_it_writes_each_languages_text_into_the_pdf(language):
    letter = letter_with_relays(language=language)
    data = letter_pdf(letter)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert KEY_WORDS[language] in text
    assert letter.hosts.get().ip in text


def test_it_lays_arabic_out_right_to_left():
    data = letter_pdf(letter_with_relays(language="ar"))
    layout = pdf_text(data, "-bbox-layout")
    # The salutation is a short line: right to left, it starts at the right margin.
    # (-bbox-layout gives the words in visual order, so the word is reversed.)
    line = next(part for part in layout.split("<line ") if "الشبكة"[::-1] in part)
    x_min = float(line.split('xMin="')[1].split('"')[0])
    assert x_min > 250  # an A4 page is 595 pt wide; left-aligned text starts near 51 pt
    english = pdf_text(letter_pdf(letter_with_relays(language="en")), "-bbox-layout")
    line = next(part for part in english.split("<line ") if ">Dear<" in part)
    assert float(line.split('xMin="')[1].split('"')[0]) < 100


def test_it_keeps_addresses_left_to_right_in_arabic():
    letter = letter_with_relays(language="ar")
    assert letter.hosts.get().ip in pdf_text(letter_pdf(letter))


def test_it_refuses_file_and_network_urls():
    fetcher = StrictURLFetcher()
    for url in ("file:///etc/passwd", "http://127.0.0.1/x.png", "https://example.com/a.css"):
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


@pytest.mark.parametrize(
    "html",
    [
        '<img src="file:///etc/passwd">',
        "<style>@import url(file:///etc/passwd);</style><p>x</p>",
        '<p style="background: url(http://127.0.0.1:9/x)">x</p>',
    ],
)
def test_it_stops_a_document_that_loads_anything_but_data(html):
    with pytest.raises(FatalURLFetchingError):
        html_to_pdf(f"<html><body>{html}</body></html>")


def test_it_prints_hostile_organisation_names_as_text(monkeypatch):
    fetched = []
    original = StrictURLFetcher.fetch
    monkeypatch.setattr(
        StrictURLFetcher,
        "fetch",
        lambda self, url, headers=None: fetched.append(url) or original(self, url, headers),
    )
    contact = ContactFactory(organisation="<style>*{background:url(file:///etc/passwd)}</style>")
    data = letter_pdf(letter_with_relays(contact=contact))
    # Only the letter's own inlined images (the QR code of its link) are read.
    assert all(url.startswith("data:image/svg+xml;base64,") for url in fetched)
    assert not any("file:" in url for url in fetched)
    assert "url(file:///etc/passwd)" in pdf_text(data)


def test_it_refuses_oversized_documents():
    with pytest.raises(ValueError, match="over"):
        html_to_pdf("<p>" + "x" * (pdf.MAX_HTML_CHARS + 1) + "</p>")


def test_it_merges_documents_and_counts_their_pages():
    one = letter_with_relays(language="en")
    two = letter_with_relays(language="de")
    from letters.compose import letter_compose

    data, pages = pdf.merged_pdf([letter_compose(one).print_html, letter_compose(two).print_html])
    text = pdf_text(data)
    assert "Dear network administrator" in text and "Sehr geehrte Damen und Herren" in text
    assert all(count >= 1 for count in pages) and len(pages) == 2


def test_it_stops_a_render_that_takes_too_long(settings):
    settings.LETTERS_PDF_TIMEOUT = 0.05
    html = "<table>" + "<tr><td>x</td><td>y</td></tr>" * 20_000 + "</table>"
    with pytest.raises(pdf.PdfTimeout):
        html_to_pdf(html)


def test_it_prints_a_very_long_organisation_name_inside_the_page():
    contact = ContactFactory(organisation="X" * 255)
    data = letter_pdf(letter_with_relays(contact=contact))
    layout = pdf_text(data, "-bbox-layout")
    x_max = max(float(part.split('"')[0]) for part in layout.split('xMax="')[1:])
    assert x_max <= 595  # A4 width in points: nothing runs off the page
    assert pdf_text(data).replace("\n", "").count("X") >= 255
