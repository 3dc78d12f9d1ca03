"""Render a letter: subject, plain text, HTML and print HTML in one language.

One template set per letter kind lives in ``templates/letters/<kind>/``. All
four parts are rendered inside ``translation.override(language)`` from one
context, so they always say the same thing. Every string that came from
WHOIS, feeds or a remote SMTP server goes through Django's autoescaping (or
``format_html``) and is cut to a bounded length first.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from letters.agency_texts import agency_words_for
from letters.languages import is_rtl
from letters.partners import letter_words
from letters.selectors import HostEvidence, letter_evidence

if TYPE_CHECKING:
    from letters.models import Letter
    from outreach.models import Agency

PARTS = ("subject.txt", "body.txt", "body.html", "print.html")
# Transcripts are quoted for the first few hosts only, a few lines each.
QUOTED_HOSTS = 3
QUOTED_LINES = 12
MAX_FIELD = 300
MAX_LOGO_BYTES = 256 * 1024
_LOGO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    text: str
    html: str
    print_html: str
    language: str


def recipient_url_for(letter: Letter) -> str:
    """The recipient's own page for this letter ("" when no public URL is set).

    The link is derived again at every render (see ``letters.recipient``):
    the same letter prints the same link until its token is revoked.
    """
    if letter.pk is None:
        return ""
    from letters.recipient import recipient_url

    return recipient_url(letter=letter)


def letter_render(letter: Letter, *, language: str | None = None) -> RenderedLetter:
    """Render all four parts of ``letter`` in ``language`` (default: the letter's)."""
    language = language or letter.language
    with translation.override(language):
        context = letter_context(letter, language=language)
        return letter_set_render(kind=letter.kind, context=context, language=language)


def letter_set_render(*, kind: str, context: dict[str, Any], language: str) -> RenderedLetter:
    """Pure part: render one template set with a ready context."""
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


def letter_context(letter: Letter, *, language: str) -> dict[str, Any]:
    """Everything the templates show, read once. Call inside the language override."""
    hosts, total = letter_evidence(letter)
    campaign, agency = letter.campaign, letter.agency
    signing, partners, fallbacks = agency_words_for(
        campaign=campaign, agency=agency, language=language
    )
    words = letter_words(signing, partners, rtl=is_rtl(language), fallbacks=fallbacks)
    instructions_url = campaign.instructions_url or agency.instructions_url
    recipient_url = recipient_url_for(letter)
    return {
        "language": language,
        "direction": "rtl" if is_rtl(language) else "ltr",
        "agency": agency,
        "agency_name": words.name,
        "agency_intro": words.introduction,
        "agency_subject": words.subject,
        # The signature block is written in the agency's own language.
        "signature": (
            agency.signature or words.name
            if signing.language in ("", agency.default_language)
            else words.name
        ),
        "national_partners": words.national,
        "international_partners": words.international,
        "national_partners_html": words.national_html,
        "international_partners_html": words.international_html,
        "logo_data_uri": logo_data_uri(agency),
        "organisation": clip(letter.contact.organisation),
        "contact_email": clip(letter.contact.email),
        "hosts": [host_row(host, index < QUOTED_HOSTS) for index, host in enumerate(hosts)],
        "count": total,
        "more_count": total - len(hosts),
        "instructions_url": instructions_url,
        "instructions_link": ltr_link(instructions_url, instructions_url),
        "agency_email": agency.contact_email,
        "agency_email_link": ltr_link(f"mailto:{agency.contact_email}", agency.contact_email),
        "recipient_url": recipient_url,
        # In right-to-left plain text, the isolates keep the URL in one piece.
        "recipient_url_text": f"\u2066{recipient_url}\u2069" if is_rtl(language) else recipient_url,
        "recipient_link": ltr_link(recipient_url, recipient_url),
        "reference": f"{campaign.slug}-{letter.pk}",
        "date": timezone.localdate(letter.approved_at or letter.created_at).isoformat(),
    }


def ltr_link(href: str, shown: str) -> str:
    """A link that reads left to right inside any text.

    The Unicode isolates (LRI…PDI) keep a URL or an address in one piece in
    Arabic and Hebrew: WeasyPrint ignores CSS unicode-bidi, but its text
    layout honours the isolates; ``dir`` serves the mail readers.
    """
    return format_html('<a href="{}" dir="ltr">\u2066{}\u2069</a>', href, shown)


def host_row(host: HostEvidence, quote: bool) -> dict[str, str]:
    return {
        "ip": host.ip,
        "verdict": verdict_label(host.verdict),
        "verified_at": format_utc(host.verified_at) or _("not verified yet"),
        "excerpt": transcript_excerpt(host.transcript) if quote else "",
        "tested_at": format_utc(host.verified_at),
    }


def verdict_label(verdict: str) -> str:
    if verdict == "open_relay":
        # Translators: result of our SMTP test, shown in a table next to the IP address.
        return _("Open relay confirmed")
    return _("Listed, not confirmed by our test")


def format_utc(moment: datetime | None) -> str:
    # Digits only, the same in every language, so no locale can garble a date.
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def transcript_excerpt(transcript: str) -> str:
    lines = [clip(line, 160) for line in (transcript or "").splitlines() if line.strip()]
    return "\n".join(lines[:QUOTED_LINES])


def clip(value: str, limit: int = MAX_FIELD) -> str:
    """Strangers' strings: drop control characters and bound the length."""
    value = _CONTROL.sub("", value or "")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def logo_data_uri(agency: Agency) -> str:
    """The agency's logo inlined as data: (the PDF fetcher reads nothing else)."""
    if not agency.logo:
        return ""
    try:
        with agency.logo.open("rb") as handle:
            data = handle.read(MAX_LOGO_BYTES + 1)
    except OSError:
        return ""
    mime = next((m for magic, m in _LOGO_TYPES.items() if data.startswith(magic)), None)
    if mime is None or len(data) > MAX_LOGO_BYTES:
        return ""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
