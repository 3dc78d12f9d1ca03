"""Read the archive of sent messages: the exact bytes, as the server took them."""

from __future__ import annotations

import hashlib
from email import message_from_bytes
from email.policy import default

from letters.blobs import BlobMissing, blob_get
from letters.models import SentMessage


def sent_message_latest(*, letter_id: int) -> SentMessage | None:
    """The last message the server took for this letter (or may have taken)."""
    return SentMessage.objects.filter(letter_id=letter_id).order_by("-recorded_at", "-id").first()


def sent_message_bytes(sent: SentMessage) -> bytes:
    """The archived bytes; raises BlobMissing if the file is gone or altered."""
    data = blob_get(sent.sha256)
    if hashlib.sha256(data).hexdigest() != sent.sha256:
        raise BlobMissing(f"{sent.sha256}: the stored bytes no longer match their hash")
    return data


def sent_message_text(sent: SentMessage) -> tuple[str, str]:
    """Subject and plain-text body of an archived message, for the recipient."""
    message = message_from_bytes(sent_message_bytes(sent), policy=default)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return str(message.get("Subject", "")), text
