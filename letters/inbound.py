"""Everything that comes back by email: replies, bounces, auto-replies, opt-outs.

Three sources feed one service, ``mail_ingest``: files (``ingest_mail``:
mbox, Maildir, .eml), the IMAP poller (one mailbox per agency, scheduled)
and the optional SMTP receiver (``receive_mail``, aiosmtpd).

Matching a message to its letter, first rule that answers wins:
VERP or Reply-To token in a recipient address → In-Reply-To/References
against the stored Message-IDs → a token quoted in the body → the queue of
unmatched mail (Response with no letter) for a person to assign.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import mailbox
import os
import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Literal, get_args

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from letters.delivery import letter_delivery_confirm
from letters.mailparse import ParsedMail, db_text, mail_parse, message_identity
from letters.models import Letter, Mailbox, Response
from letters.responses import bounce_record, column_bounded, contact_opt_out, response_store

logger = logging.getLogger(__name__)

KIND = {
    "bounce": Response.Kind.BOUNCE,
    "auto_reply": Response.Kind.AUTO_REPLY,
    "opt_out": Response.Kind.OPT_OUT,
    "reply": Response.Kind.REPLY,
    "delivery_report": Response.Kind.DELIVERY_REPORT,
    "read_receipt": Response.Kind.READ_RECEIPT,
    "challenge_response": Response.Kind.CHALLENGE,
    "unparsable": Response.Kind.UNPARSABLE,
}


class InboundError(ValueError):
    """A message or a source that cannot be read (named in the message)."""


@dataclass(frozen=True)
class Match:
    letter: Letter | None
    rule: str


# --- matching -------------------------------------------------------------


def letter_match(parsed: ParsedMail) -> Match:
    letters = Letter.objects.select_related("contact")
    for token in parsed.address_tokens:
        letter = letters.filter(reply_token=token).first()
        if letter:
            return Match(letter, "token")
    if parsed.answers:
        letter = letters.filter(message_id__in=parsed.answers).first()
        if letter:
            return Match(letter, "in_reply_to")
    for token in parsed.body_tokens:
        letter = letters.filter(reply_token=token).first()
        if letter:
            return Match(letter, "body_token")
    return Match(None, "unmatched")


# --- the one service ------------------------------------------------------


def mail_ingest(
    *, raw: bytes, envelope_recipients: tuple[str, ...] = (), inbox: str = ""
) -> Response | None:
    """Store one incoming message as a Response and act on it.

    Returns None when the same message was stored before (sources repeat).
    ``inbox`` names the mailbox it came from: the message's identity
    (Message-ID, else a digest of its bytes) is unique per inbox, enforced by
    the database so two workers reading the same mail store it once. A
    message that cannot be read is stored as unparsable, raw bytes and all.
    """
    if len(raw) > settings.INBOUND_MAX_BYTES:
        raise InboundError(f"message of {len(raw)} bytes is over INBOUND_MAX_BYTES")
    identity = message_identity(raw)
    if _already_stored(identity, inbox):
        return None
    parsed = mail_parse(raw, envelope_recipients=envelope_recipients, ours=_our_addresses())
    parsed.message_id = identity
    # Even unreadable mail sent to a letter's VERP address is linked to that
    # letter (for a person to look at); only readable mail acts on it.
    match = letter_match(parsed)
    try:
        with transaction.atomic():
            if match.letter is not None:
                # Whatever came back about the letter proves it went out.
                evidence = f"{parsed.kind} by email"
                letter_delivery_confirm(letter_id=match.letter.id, evidence=evidence)
            response = response_store(
                _response(parsed, match, raw=raw, identity=identity, inbox=inbox),
                note="answered by email",
            )
            if match.letter is not None:
                _act(response, parsed, match.letter)
    except IntegrityError:
        if _already_stored(identity, inbox):
            return None  # another worker stored it first
        raise
    return response


def _response(
    parsed: ParsedMail, match: Match, *, raw: bytes, identity: str, inbox: str
) -> Response:
    return Response(
        letter=match.letter,
        kind=KIND[parsed.kind],
        channel=Response.Channel.EMAIL,
        sender=db_text(parsed.sender),
        subject=db_text(parsed.subject),
        message_id=db_text(identity),
        body=parsed.body,
        outcome=_outcome_note(parsed, match),
        identity=db_text(identity),
        inbox=inbox,
        severity=parsed.severity if parsed.kind == "bounce" else "",
        rule=parsed.rule,
        failed_recipients=parsed.failed,
        raw=raw if parsed.kind == "unparsable" else None,
    )


def _already_stored(identity: str, inbox: str) -> bool:
    # Rows stored before identities existed got theirs from their Message-ID
    # (migration letters 0008), so one indexed lookup answers.
    identity, inbox = column_bounded("identity", identity), column_bounded("inbox", inbox)
    return Response.objects.filter(identity=identity, inbox=inbox).exists()


def _our_addresses() -> frozenset[str]:
    """Our own sender addresses: a bounce never names them as failed."""
    values = [getattr(settings, "DEFAULT_FROM_EMAIL", ""), getattr(settings, "SERVER_EMAIL", "")]
    return frozenset(a.lower() for _, a in getaddresses(values) if a)


def _outcome_note(parsed: ParsedMail, match: Match) -> str:
    note = f"matched by {match.rule}"
    if parsed.kind == "bounce":
        recipient = _letter_recipient(match.letter)
        named = f" (the letter's recipient {recipient})" if recipient in parsed.failed else ""
        note += f"; {parsed.severity} bounce {', '.join(parsed.failed)[:120]}{named}"
    elif parsed.kind != "reply":
        note += f"; {parsed.kind.replace('_', ' ')}"
    return note


def _letter_recipient(letter: Letter | None) -> str:
    if letter is None or letter.contact_id is None:
        return ""
    return (letter.contact.email or "").lower()


def _act(response: Response, parsed: ParsedMail, letter: Letter) -> None:
    # Only a person's reply marks a letter answered (response_store's rule):
    # a bounce, a delivery report, a read receipt, an auto-reply or a
    # challenge never does.
    if parsed.kind == "bounce":
        bounce_record(letter=letter, severity=parsed.severity, when=response.received_at)
    elif parsed.kind == "opt_out":
        contact_opt_out(contact_id=letter.contact_id, reason="asked by email")


# --- sources: files -------------------------------------------------------


IngestFigure = Literal["stored", "matched", "duplicates", "poisoned", "unparsable"]


class IngestReport(Counter[IngestFigure]):
    """What one ingest run did, message by message: reports of several runs add up."""

    def figures(self) -> dict[str, int]:
        """Every count by name, 0 for what did not happen (``--json``)."""
        return {name: self[name] for name in get_args(IngestFigure)}


def mail_paths_ingest(
    *, paths: list[Path], progress: Callable[[IngestReport], None] | None = None
) -> IngestReport:
    """Ingest mbox files, Maildir folders and .eml files; one transaction per file.

    ``progress(report)`` is called after each message.
    """
    report = IngestReport()
    for path in paths:
        with transaction.atomic():
            for raw in _messages_in(path):
                _count(report, _ingest_or_set_aside(raw))
                if progress:
                    progress(report)
    return report


def _ingest_or_set_aside(raw: bytes) -> Response | None:
    """Ingest one message in its own savepoint; a failure stores it as unparsable.

    A database error on one message (what used to roll back a whole mbox)
    rolls back only that message, which is then kept, raw, for a person.
    """
    try:
        with transaction.atomic():
            return mail_ingest(raw=raw)
    except InboundError:
        raise
    except Exception as error:
        logger.exception("inbound message could not be stored; kept as unparsable")
        return _store_unparsable(raw, rule=f"store_error:{type(error).__name__}")


def _store_unparsable(raw: bytes, *, rule: str) -> Response | None:
    identity = f"<sha256.{hashlib.sha256(raw).hexdigest()}@inbound>"
    if _already_stored(identity, ""):
        return None
    # Only its bytes are known: they are kept whole, named by their digest.
    unparsable = Response(
        kind=Response.Kind.UNPARSABLE,
        channel=Response.Channel.EMAIL,
        outcome="stored raw: could not be read",
        rule=rule,
        raw=raw,
        identity=identity,
        message_id=identity,
    )
    with transaction.atomic():
        return response_store(unparsable)


def _count(report: IngestReport, response: Response | None) -> None:
    if response is None:
        report["duplicates"] += 1
        return
    report["stored"] += 1
    report["matched"] += response.letter_id is not None
    report["unparsable"] += response.kind == Response.Kind.UNPARSABLE


def _messages_in(path: Path) -> Iterator[bytes]:
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise InboundError(f"{path}: a folder must be a Maildir (with cur/ and new/)")
        yield from _bounded(mailbox.Maildir(path, factory=None, create=False), path)
    elif path.is_file() and _looks_like_mbox(path):
        yield from _bounded(mailbox.mbox(path, factory=None, create=False), path)
    elif path.is_file():
        yield _read_bounded(path)
    else:
        raise InboundError(f"{path}: no such file or folder")


def _looks_like_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _read_bounded(path: Path) -> bytes:
    limit = settings.INBOUND_MAX_BYTES
    with path.open("rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise InboundError(f"{path}: message is over INBOUND_MAX_BYTES ({limit})")
    return raw


def _bounded(box: mailbox.Mailbox, path: Path) -> Iterator[bytes]:
    limit = settings.INBOUND_MAX_BYTES
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        if len(raw) > limit:
            raise InboundError(f"{path}: message {key} is over INBOUND_MAX_BYTES ({limit})")
        yield raw


# --- sources: IMAP --------------------------------------------------------


def mailbox_poll(*, mailbox_id: int, client: imaplib.IMAP4 | None = None) -> IngestReport:
    """Fetch the unseen messages of one agency mailbox (IMAP over TLS).

    Each message is marked seen only after it is stored, so a crash re-reads
    it and the identity constraint makes the second read a no-op. A message
    that cannot be stored at all (a poison message) is logged, marked seen
    and, when ``INBOUND_POISON_FOLDER`` is set, copied there: the poll goes
    on with the next one and never stalls on it again.
    """
    box = Mailbox.objects.get(id=mailbox_id, is_active=True)
    imap = client or _imap_connect(box)
    report = IngestReport()
    try:
        imap.select(box.folder)
        _, data = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split()[: settings.INBOUND_POLL_BATCH]:
            _imap_ingest_one(imap, uid, box, report)
    finally:
        imap.logout()
    Mailbox.objects.filter(id=box.id).update(polled_at=timezone.now())
    return report


def _imap_ingest_one(imap: imaplib.IMAP4, uid: bytes, box: Mailbox, report: IngestReport) -> None:
    try:
        raw = _imap_fetch(imap, uid)
        if raw is not None:
            _count(report, mail_ingest(raw=raw, inbox=f"mailbox:{box.id}"))
    except Exception:
        logger.exception("IMAP message %s in %s could not be stored: set aside", uid, box)
        report["poisoned"] += 1
        folder = settings.INBOUND_POISON_FOLDER
        if folder:
            imap.uid("COPY", uid, folder)
    imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")


def _imap_connect(box: Mailbox) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    imap = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=30)
    imap.login(box.username, os.environ.get(box.password_env, ""))
    return imap


def _imap_fetch(imap: imaplib.IMAP4, uid: bytes) -> bytes | None:
    _, size_data = imap.uid("FETCH", uid, "(RFC822.SIZE)")
    size = _imap_size(size_data)
    if size is None or size > settings.INBOUND_MAX_BYTES:
        logger.warning("skipping IMAP message %s: size %s over the limit", uid, size)
        return None
    _, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    return None


def _imap_size(data: list) -> int | None:
    import re

    for item in data:
        text = item.decode() if isinstance(item, bytes) else str(item)
        match = re.search(r"RFC822\.SIZE (\d+)", text)
        if match:
            return int(match.group(1))
    return None


# --- sources: SMTP/LMTP receiver ------------------------------------------


class InboundHandler:
    """aiosmtpd handler: every message it accepts goes to ``mail_ingest``."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        from asgiref.sync import sync_to_async

        raw = envelope.original_content or b""
        if len(raw) > settings.INBOUND_MAX_BYTES:
            return "552 5.3.4 Message too big"
        try:
            await sync_to_async(_ingest_as_request)(raw, tuple(envelope.rcpt_tos))
        except Exception:
            logger.exception("inbound message could not be stored")
            return "451 4.3.0 Could not store the message, try again later"
        return "250 2.0.0 Stored"


def _ingest_as_request(raw: bytes, recipients: tuple[str, ...]) -> None:
    # Like a web request: drop stale database connections before and after.
    close_old_connections()
    try:
        mail_ingest(raw=raw, envelope_recipients=recipients)
    finally:
        close_old_connections()
