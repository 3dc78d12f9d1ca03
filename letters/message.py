"""Build the email for one letter: pure, no ORM, so it can be tested alone.

Every value that reaches a header may come from WHOIS or RDAP, that is from a
stranger. Addresses are parsed and rebuilt, display names and subjects lose
their control characters, so no CR or LF can ever start a new header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from django.utils import timezone

# Local part and domain as we accept them in an address we write to. This is
# stricter than RFC 5322 on purpose: quoted local parts and source routes are
# what abuse data and attackers use to smuggle things into headers.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
_TOKEN = re.compile(r"^[A-Za-z0-9]{8,64}$")


class UnsafeHeaderError(ValueError):
    """A value that would be unsafe in a header (bad address, bad token)."""


@dataclass(frozen=True)
class OutgoingLetter:
    """Everything the message needs, already rendered and chosen."""

    message_id: str
    token: str
    agency_name: str
    agency_address: str
    reply_domain: str
    recipient: str
    recipient_name: str
    subject: str
    text: str
    html: str
    language: str
    pdf: bytes | None = None
    pdf_filename: str = "letter.pdf"
    opt_out_url: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)


def clean_text(value: str, limit: int = 200) -> str:
    """One line of display text: control characters become spaces."""
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


def address_checked(value: str) -> str:
    """The address itself, or UnsafeHeaderError if it is not a plain one."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    if not at or not _LOCAL.match(local) or not _DOMAIN.match(domain):
        raise UnsafeHeaderError(f"not a plain email address: {value[:80]!r}")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise UnsafeHeaderError(f"not a plain email address: {value[:80]!r}")
    return value


def token_checked(token: str) -> str:
    if not _TOKEN.match(token or ""):
        raise UnsafeHeaderError("a letter token must be 8-64 letters or digits")
    return token


def reply_address(token: str, domain: str) -> str:
    """relay+TOKEN@domain: a reply finds its letter by the token."""
    return address_checked(f"relay+{token_checked(token)}@{domain}")


def bounce_address(token: str, domain: str) -> str:
    """The VERP envelope sender: a bounce finds its letter even unparsed."""
    return address_checked(f"bounces+{token_checked(token)}@{domain}")


def optout_address(token: str, domain: str) -> str:
    return address_checked(f"optout+{token_checked(token)}@{domain}")


def message_id_new(token: str, domain: str) -> str:
    return make_msgid(idstring=f"letter.{token_checked(token)}", domain=domain)


def _mailbox(name: str, address: str) -> Address:
    local, _, domain = address_checked(address).rpartition("@")
    return Address(display_name=clean_text(name, 120), username=local, domain=domain)


def message_build(letter: OutgoingLetter, *, recipient_override: str = "") -> EmailMessage:
    """The multipart text + HTML message, with the PDF attached if given.

    ``recipient_override`` is test mode: the message goes to one test address
    and says whom it was meant for.
    """
    message = EmailMessage(policy=SMTP)
    _headers_set(message, letter, recipient_override)
    message.set_content(letter.text, subtype="plain", charset="utf-8")
    message.add_alternative(letter.html, subtype="html", charset="utf-8")
    if letter.pdf is not None:
        message.add_attachment(
            letter.pdf,
            maintype="application",
            subtype="pdf",
            filename=clean_text(letter.pdf_filename, 80) or "letter.pdf",
        )
    # Last: set_content and make_mixed move or drop Content-* headers set before.
    message["Content-Language"] = clean_text(letter.language, 16)
    return message


def _headers_set(message: EmailMessage, letter: OutgoingLetter, override: str) -> None:
    domain = letter.reply_domain
    to = override or letter.recipient
    message["From"] = _mailbox(letter.agency_name, letter.agency_address)
    message["To"] = _mailbox("" if override else letter.recipient_name, to)
    message["Reply-To"] = _mailbox(letter.agency_name, reply_address(letter.token, domain))
    message["Subject"] = clean_text(letter.subject, 250)
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = _message_id_checked(letter.message_id)
    # RFC 3834: tells well-behaved auto-responders not to answer us.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Outreach-Token"] = token_checked(letter.token)
    message["List-Unsubscribe"] = _unsubscribe(letter)
    if override:
        message["X-Outreach-Test-Original-To"] = address_checked(letter.recipient)
    for name, value in letter.extra_headers.items():
        message[clean_text(name, 60).replace(" ", "-")] = clean_text(value, 500)


def _unsubscribe(letter: OutgoingLetter) -> str:
    optout = f"<mailto:{optout_address(letter.token, letter.reply_domain)}>"
    url = clean_text(letter.opt_out_url, 500)
    if url.startswith("https://") and not re.search(r"[<>\s,]", url):
        return f"<{url}>, {optout}"
    return optout


def _message_id_checked(message_id: str) -> str:
    if not re.match(r"^<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>$", message_id or ""):
        raise UnsafeHeaderError(f"bad Message-ID: {message_id[:80]!r}")
    return message_id


def message_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=SMTP)
