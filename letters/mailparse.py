"""Read one incoming message: pure, no ORM, so it can be tested alone.

Incoming mail is written by strangers. Parsing is bounded (the caller refuses
oversized messages; bodies are cut), never trusts a header to be well formed,
and returns plain strings with control characters removed.

What comes out: the kind (bounce, auto-reply, opt-out, reply), the letter
tokens it carries, by rule (VERP or Reply-To address, then quoted in the
body), the Message-IDs it answers, and for a bounce which addresses failed
for good and which only for now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import getaddresses

from flufl.bounce import all_failures

from letters.message import clean_text

BODY_LIMIT = 100_000
_ADDRESS_TOKEN = re.compile(r"\b(relay|bounces|optout)\+([A-Za-z0-9]{8,64})@", re.IGNORECASE)
_BODY_TOKEN = re.compile(
    r"(?:\b(?:relay|bounces|optout)\+|X-Outreach-Token:[ \t]*|\bletter\.)([A-Za-z0-9]{8,64})\b"
)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_AUTO_SUBJECT = re.compile(
    r"^(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|absence|abwesenheit|"
    r"réponse automatique|respuesta automática|vacation)",
    re.IGNORECASE,
)


@dataclass
class ParsedMail:
    kind: str  # "bounce", "auto_reply", "opt_out" or "reply"
    sender: str = ""
    subject: str = ""
    message_id: str = ""
    body: str = ""
    address_tokens: list[str] = field(default_factory=list)
    body_tokens: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    permanent: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)

    @property
    def hard(self) -> bool:
        return bool(self.permanent)


def mail_parse(raw: bytes, *, envelope_recipients: tuple[str, ...] = ()) -> ParsedMail:
    """Parse and classify one raw RFC 5322 message."""
    message = message_from_bytes(raw, policy=default)
    recipients = _recipients(message, envelope_recipients)
    tokens = _address_tokens(recipients)
    parsed = ParsedMail(
        kind="reply",
        sender=_header_text(message, "From", 254),
        subject=_header_text(message, "Subject", 998),
        message_id=_first_message_id(_header_text(message, "Message-ID", 998)),
        body=_body_text(message),
        address_tokens=[token for _, token in tokens],
        answers=_answers(message),
    )
    parsed.body_tokens = _unique(_BODY_TOKEN.findall(_all_text(message)))
    parsed.temporary, parsed.permanent = _failures(message)
    parsed.kind = _kind(message, parsed, {prefix.lower() for prefix, _ in tokens})
    return parsed


def _kind(message: Message, parsed: ParsedMail, prefixes: set[str]) -> str:
    # DSNs carry "Auto-Submitted: auto-replied" too, so bounces come first.
    if parsed.permanent or parsed.temporary or _is_report(message):
        return "bounce"
    if _is_auto_reply(message, parsed.subject):
        return "auto_reply"
    if "optout" in prefixes:
        return "opt_out"
    if "bounces" in prefixes and _from_daemon(parsed.sender):
        return "bounce"  # a bounce flufl.bounce could not read: VERP still says so
    return "reply"


def _is_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and (message.get_param("report-type") or "").lower() == "delivery-status"
    )


def _is_auto_reply(message: Message, subject: str) -> bool:
    auto = _header_text(message, "Auto-Submitted", 100).lower()
    if auto and auto != "no":
        return True
    if any(message.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if _header_text(message, "Precedence", 50).lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(subject))


def _from_daemon(sender: str) -> bool:
    return bool(re.search(r"mailer-daemon|postmaster|mail delivery", sender, re.IGNORECASE))


def _failures(message: Message) -> tuple[list[str], list[str]]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        return [], []
    return _addresses(temporary), _addresses(permanent)


def _addresses(found: frozenset[bytes | str]) -> list[str]:
    out = []
    for item in found:
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        out.append(clean_text(text, 254).lower())
    return sorted(set(out))


def _recipients(message: Message, envelope: tuple[str, ...]) -> list[str]:
    values = [str(v) for name in _RECIPIENT_HEADERS for v in message.get_all(name, [])]
    found = [address for _, address in getaddresses([_safe(v) for v in values])]
    return [*envelope, *found]


def _address_tokens(recipients: list[str]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for recipient in recipients:
        for prefix, token in _ADDRESS_TOKEN.findall(recipient or ""):
            if token not in seen:
                seen.add(token)
                out.append((prefix, token))
    return out


def _answers(message: Message) -> list[str]:
    text = " ".join(_header_text(message, name, 10_000) for name in ("In-Reply-To", "References"))
    return _unique(_MESSAGE_ID.findall(text))[:50]


def _first_message_id(value: str) -> str:
    match = _MESSAGE_ID.search(value)
    return match.group(0) if match else ""


def _header_text(message: Message, name: str, limit: int) -> str:
    try:
        value = message.get(name)
    except Exception:
        return ""
    return clean_text(_safe(value), limit) if value is not None else ""


def _safe(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return ""


def _body_text(message: Message) -> str:
    if isinstance(message, EmailMessage):
        try:
            part = message.get_body(("plain", "html"))
            if part is not None:
                return str(part.get_content())[:BODY_LIMIT]
        except Exception:  # undecodable charsets and broken MIME: fall back
            return _all_text(message)[:BODY_LIMIT]
    return _all_text(message)[:BODY_LIMIT]


def _all_text(message: Message) -> str:
    """Every textual part, decoded leniently: bounces quote the original."""
    chunks, size = [], 0
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = str(part.get_payload() or "").encode("utf-8", "replace")
        text = payload[: BODY_LIMIT * 2].decode("utf-8", "replace")
        chunks.append(text)
        size += len(text)
        if size > BODY_LIMIT * 4:
            break
    # Rfc822 and rfc822-headers parts are containers; walk() sees their headers
    # only through the child message, so add those too.
    for part in message.walk():
        if part.get_content_type() in {"message/rfc822", "text/rfc822-headers"}:
            chunks.append(_safe(part)[:BODY_LIMIT])
    return "\n".join(chunks)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
