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

from letters.languages import is_rtl
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


def recipient_code_for(letter: Letter) -> tuple[str, str]:
    """Where to type the short code, and the code ("", "" without a public URL)."""
    if letter.pk is None:
        return "", ""
    from letters.recipient import recipient_link

    _url, entry, code = recipient_link(letter=letter)
    return entry, code


def qr_data_uri(url: str) -> str:
    """The link as a QR code, an SVG inlined as data: (the PDF fetcher reads nothing else)."""
    if not url:
        return ""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


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
    partners = [a.name for a in campaign.agencies() if a.pk != agency.pk]
    instructions_url = campaign.instructions_url or agency.instructions_url
    recipient_url = recipient_url_for(letter)
    code_url, code = recipient_code_for(letter) if recipient_url else ("", "")
    return {
        "language": language,
        "direction": "rtl" if is_rtl(language) else "ltr",
        "agency": agency,
        "logo_data_uri": logo_data_uri(agency),
        "partners": ", ".join(clip(name) for name in partners),
        "organisation": clip(letter.contact.organisation),
        "contact_email": clip(letter.contact.email),
        "hosts": [host_row(host, index < QUOTED_HOSTS) for index, host in enumerate(hosts)],
        "count": total,
        "more_count": total - len(hosts),
        "instructions_url": instructions_url,
        "instructions_link": format_html('<a href="{0}">{0}</a>', instructions_url),
        "agency_email": agency.contact_email,
        "agency_email_link": format_html('<a href="mailto:{0}">{0}</a>', agency.contact_email),
        "recipient_url": recipient_url,
        "recipient_qr": qr_data_uri(recipient_url),
        # Isolated, so the address reads whole inside right-to-left text.
        "code_url": f"\u2066{code_url}\u2069" if code_url else "",
        "recipient_code": code,
        "reference": f"{campaign.slug}-{letter.pk}",
        "date": timezone.localdate(letter.approved_at or letter.created_at).isoformat(),
    }


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
