"""Render a letter: subject, plain text, HTML and print HTML in one language.

One template set per letter kind lives in ``templates/letters/<kind>/``. All
four parts are rendered inside ``translation.override(language)`` from one
context, so they always say the same thing. Every string that came from
WHOIS, feeds or a remote SMTP server goes through Django's autoescaping (or
``format_html``) and is cut to a bounded length first.

Pure: it takes the letter's data, the evidence rows and the recipient URL
(``letters.selectors`` reads them, ``letters.compose`` puts them together)
and never reads the database or creates a token.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from letters.evidence import clip, transcript_excerpt, verdict_label
from letters.languages import is_rtl
from letters.partners import AgencyWords, letter_words

PARTS = ("subject.txt", "body.txt", "body.html", "print.html")
# Transcripts are quoted for the first few hosts only, a few lines each.
QUOTED_HOSTS = 3
QUOTED_LINES = 12


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    text: str
    html: str
    print_html: str
    language: str


@dataclass(frozen=True)
class HostEvidence:
    """One of the letter's hosts with what its latest probe showed."""

    ip: str
    verdict: str
    verified_at: datetime | None
    tests_passed: list
    transcript: str


@dataclass(frozen=True)
class RecipientLink:
    """The recipient page's link and, for paper, where to type the short code and the code."""

    url: str = ""
    entry: str = ""
    code: str = ""


@dataclass(frozen=True)
class SignerData:
    """The signing agency, as the templates show it."""

    name: str
    postal_address: str = ""
    signature: str = ""
    contact_email: str = ""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class LetterData:
    """What a letter says besides its evidence, read once by ``letters.selectors``."""

    pk: int | None
    kind: str
    language: str
    campaign_slug: str
    agency: SignerData
    # The signing agency's and the partners' texts in ``language`` (with
    # fallbacks), the partners in the campaign's order: letters.agency_texts.
    signing_words: AgencyWords
    partner_words: list[AgencyWords]
    # The agency's own language: its signature block is written in it.
    agency_language: str
    organisation: str
    contact_email: str
    instructions_url: str
    logo_data_uri: str
    date: date


def letter_render(
    data: LetterData,
    *,
    hosts: list[HostEvidence],
    total: int,
    link: RecipientLink | None = None,
    language: str | None = None,
) -> RenderedLetter:
    """Render all four parts in ``language`` (default: the letter's). Pure: no database."""
    language = language or data.language
    with translation.override(language):
        context = letter_context(
            data, hosts=hosts, total=total, link=link or RecipientLink(), language=language
        )
        return letter_set_render(kind=data.kind, context=context, language=language)


def letter_set_render(*, kind: str, context: dict[str, Any], language: str) -> RenderedLetter:
    """Render one template set with a ready context."""
    if not re.fullmatch(r"[a-z0-9_]{1,32}", kind):
        raise ValueError(f"Not a letter kind: {kind!r}")
    with translation.override(language):
        parts = [render_to_string(f"letters/{kind}/{name}", context) for name in PARTS]
    subject, text, html, print_html = parts
    return RenderedLetter(
        subject=" ".join(subject.split()),
        text=_tidy_text(text),
        html=html,
        print_html=print_html,
        language=language,
    )


def letter_context(
    data: LetterData,
    *,
    hosts: list[HostEvidence],
    total: int,
    link: RecipientLink,
    language: str,
) -> dict[str, Any]:
    """Everything the templates show. Call inside the language override."""
    agency = data.agency
    words = letter_words(data.signing_words, data.partner_words, rtl=is_rtl(language))
    own_language = data.signing_words.language in ("", data.agency_language)
    return {
        "language": language,
        "direction": "rtl" if is_rtl(language) else "ltr",
        "agency": agency,
        "agency_name": words.name,
        "agency_intro": words.introduction,
        "agency_subject": words.subject,
        # The signature block is written in the agency's own language.
        "signature": (agency.signature or words.name) if own_language else words.name,
        "national_partners": words.national,
        "international_partners": words.international,
        "national_partners_html": words.national_html,
        "international_partners_html": words.international_html,
        "logo_data_uri": data.logo_data_uri,
        "organisation": clip(data.organisation),
        "contact_email": clip(data.contact_email),
        "hosts": [host_row(host, index < QUOTED_HOSTS) for index, host in enumerate(hosts)],
        "count": total,
        "more_count": total - len(hosts),
        "instructions_url": data.instructions_url,
        "instructions_link": ltr_link(data.instructions_url, data.instructions_url),
        "agency_email": agency.contact_email,
        "agency_email_link": ltr_link(f"mailto:{agency.contact_email}", agency.contact_email),
        "recipient_url": link.url,
        # In right-to-left plain text, the isolates keep the URL in one piece.
        "recipient_url_text": f"\u2066{link.url}\u2069" if is_rtl(language) else link.url,
        "recipient_link": ltr_link(link.url, link.url),
        "recipient_qr": qr_data_uri(link.url),
        # Isolated, so the address reads whole inside right-to-left text.
        "code_url": f"\u2066{link.entry}\u2069" if link.url and link.entry else "",
        "recipient_code": link.code if link.url else "",
        "reference": f"{data.campaign_slug}-{data.pk}",
        "date": data.date.isoformat(),
    }


def ltr_link(href: str, shown: str) -> str:
    """A link that reads left to right inside any text.

    The Unicode isolates (LRI…PDI) keep a URL or an address in one piece in
    Arabic and Hebrew: WeasyPrint ignores CSS unicode-bidi, but its text
    layout honours the isolates; ``dir`` serves the mail readers.
    """
    return format_html('<a href="{}" dir="ltr">\u2066{}\u2069</a>', href, shown)


def qr_data_uri(url: str) -> str:
    """The link as a QR code, an SVG inlined as data: (the PDF fetcher reads nothing else)."""
    if not url:
        return ""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


def host_row(host: HostEvidence, quote: bool) -> dict[str, str]:
    return {
        "ip": host.ip,
        "verdict": verdict_label(host.verdict, brief=True),
        "verified_at": format_utc(host.verified_at) or _("not verified yet"),
        "excerpt": transcript_excerpt(host.transcript, lines=QUOTED_LINES) if quote else "",
        "tested_at": format_utc(host.verified_at),
    }


def format_utc(moment: datetime | None) -> str:
    # Digits only, the same in every language, so no locale can garble a date.
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
