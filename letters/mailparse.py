"""Read one incoming message: pure, no ORM, so it can be tested alone.

Incoming mail is written by strangers. Parsing is bounded (the caller refuses
oversized messages; bodies are cut), never trusts a header to be well formed,
never raises, and returns plain strings with control characters removed.

What comes out: the kind, rule, severity and failed recipients decided by
``letters.classify``, the letter tokens the message carries, by rule (VERP
or Reply-To address, then quoted in the body), and the Message-IDs it
answers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from letters.classify import Context, header_text, message_classify, payload_text
from letters.message import clean_text

BODY_LIMIT = 100_000
_ADDRESS_TOKEN = re.compile(r"\b(relay|bounces|optout)\+([A-Za-z0-9]{8,64})@", re.IGNORECASE)
_BODY_TOKEN = re.compile(
    r"(?:\b(?:relay|bounces|optout)\+|X-Outreach-Token:[ \t]*|\bletter\.)([A-Za-z0-9]{8,64})\b"
)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}@[^<>\s]{1,250}>")
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass
class ParsedMail:
    """What the parser read in one inbound message, before anything is stored."""

    # "bounce", "delivery_report", "read_receipt", "auto_reply",
    # "challenge_response", "opt_out", "reply" or "unparsable"
    kind: str
    sender: str = ""
    subject: str = ""
    message_id: str = ""
    body: str = ""
    address_tokens: list[str] = field(default_factory=list)
    body_tokens: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    rule: str = ""
    severity: str = ""  # "hard", "soft" or "unknown" for a bounce
    failed: list[str] = field(default_factory=list)
    status: str = ""

    @property
    def permanent(self) -> list[str]:
        return self.failed if self.kind == "bounce" and self.severity == "hard" else []

    @property
    def temporary(self) -> list[str]:
        return self.failed if self.kind == "bounce" and self.severity == "soft" else []

    @property
    def hard(self) -> bool:
        return self.kind == "bounce" and self.severity == "hard"


def mail_parse(
    raw: bytes, *, envelope_recipients: tuple[str, ...] = (), ours: frozenset[str] = frozenset()
) -> ParsedMail:
    """Parse and classify one raw RFC 5322 message; never raises.

    A message that cannot be read at all comes back as kind "unparsable"
    (the caller keeps its raw bytes).
    """
    try:
        return _parse(raw, envelope_recipients, ours)
    except Exception as error:  # hostile input must not stop ingestion
        return ParsedMail(kind="unparsable", rule=f"error:{type(error).__name__}")


def _parse(raw: bytes, envelope_recipients: tuple[str, ...], ours: frozenset[str]) -> ParsedMail:
    # compat32 never raises on a header it cannot decode: it hands back the
    # raw text, which classify decodes leniently.
    message = message_from_bytes(_header_start(raw))
    recipients = _recipients(message, envelope_recipients)
    tokens = _address_tokens(recipients)
    prefixes = {prefix.lower() for prefix, _ in tokens}
    context = Context(
        to_verp="bounces" in prefixes,
        to_optout="optout" in prefixes,
        ours=frozenset(a.lower() for a in ours),
    )
    verdict = message_classify(message, context)
    parsed = ParsedMail(
        kind=verdict.kind,
        sender=_header_text(message, "From", 254),
        subject=_header_text(message, "Subject", 998),
        message_id=_first_message_id(_header_text(message, "Message-ID", 998)),
        address_tokens=[token for _, token in tokens],
        answers=_answers(message),
        rule=verdict.rule,
        severity=verdict.severity,
        failed=[clean_text(a, 254) for a in verdict.failed][:100],
        status=verdict.status,
    )
    if parsed.kind == "unparsable":
        return parsed
    parsed.body = db_text(_body_text(message))
    parsed.body_tokens = _unique(_BODY_TOKEN.findall(_all_text(message, raw)))
    return parsed


def message_identity(raw: bytes) -> str:
    """What makes a message the same message: its Message-ID, else a digest.

    Some MTAs (qmail) send bounces without a Message-ID: the SHA-256 of the
    bytes stands in, so reading the same mbox twice still counts once. Only
    the headers are parsed, so a message already stored costs little.
    """
    try:
        headers = BytesHeaderParser().parsebytes(_header_start(raw))
        message_id = _first_message_id(_header_text(headers, "Message-ID", 998))
    except Exception:  # hostile headers: the digest will do
        message_id = ""
    return message_id or f"<sha256.{hashlib.sha256(raw).hexdigest()}@inbound>"


def _header_start(raw: bytes) -> bytes:
    """Skip what comes before the first header: blank lines, an mbox "From " line."""
    head = raw.lstrip(b" \t\r\n")
    if head.startswith(b"From ") and b"\n" in head[:1000]:
        head = head.split(b"\n", 1)[1]
    return head


def db_text(value: str) -> str:
    """Text PostgreSQL accepts: no NUL, no lone surrogate."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8", "replace")


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
    return clean_text(header_text(message, name, limit * 2), limit)


def _safe(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return ""


def _body_text(message: Message) -> str:
    """The first plain-text part (else the first text part), decoded leniently."""
    parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
    plain = [p for p in parts if p.get_content_subtype() == "plain"]
    for part in plain[:1] or parts[:1]:
        text = payload_text(part, BODY_LIMIT * 4)
        if text is not None:
            return text[:BODY_LIMIT]
    return _all_text(message)[:BODY_LIMIT]


def _all_text(message: Message, raw: bytes = b"") -> str:
    """Every textual part, decoded leniently, then the raw message itself:
    bounces quote the original's headers inside message/rfc822 parts, and
    the raw bytes hold them without re-serialising each part."""
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
    chunks.append(raw[: BODY_LIMIT * 4].decode("latin-1"))
    return "\n".join(chunks)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
