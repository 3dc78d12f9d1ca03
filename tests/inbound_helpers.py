"""Mail to a sent letter: its addresses, and what ingesting a message does to it."""

from __future__ import annotations

from letters.inbound import mail_ingest
from letters.models import Letter, Response
from tests.factories import LetterFactory
from tests.letters_helpers import reloaded


def to_letter(letter: Letter, prefix: str = "bounces") -> str:
    """The letter's own address: ``bounces+`` is its VERP envelope sender, where
    bounces come back; ``relay+`` its Reply-To."""
    return f"{prefix}+{letter.reply_token}@ftc.example"


def sent_letter_ingest(
    raw: bytes, *, prefix: str = "bounces", **letter_fields: object
) -> tuple[Response, Letter]:
    """Ingests ``raw`` as delivered to a sent letter's ``prefix`` address in the
    SMTP envelope, whatever its headers say; returns the stored response and the
    letter (and its contact) as the ingest left them."""
    letter = LetterFactory(status=Letter.Status.SENT, **letter_fields)
    response = mail_ingest(raw=raw, envelope_recipients=(to_letter(letter, prefix),))
    return response, reloaded(letter)
