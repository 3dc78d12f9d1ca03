"""The IMAP poll against a real (small) IMAP server on loopback: a poison
message is set aside, marked seen, and the poll goes on."""

from __future__ import annotations

import imaplib

import pytest

from letters.inbound import mailbox_poll
from letters.models import Letter, Mailbox, Response
from tests.factories import LetterFactory
from tests.imap_server import ImapMailbox, ImapServer
from tests.test_inbound_robust import good

JUNK = b"\x00\xff" * 300 + b"\r\n\r\n" + b"\x80\x00" * 50


def connect(port: int) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    imap.login("relay", "secret")
    return imap


@pytest.fixture
def letter_box(db):
    letter = LetterFactory(status=Letter.Status.SENT)
    box = Mailbox.objects.create(
        agency=letter.agency, host="127.0.0.1", username="relay", password_env="X"
    )
    return letter, box


def test_an_unreadable_message_is_stored_raw_marked_seen_and_the_poll_goes_on(letter_box):
    letter, box = letter_box
    to = f"relay+{letter.reply_token}@ftc.example"
    imap_box = ImapMailbox({1: good("before", To=to), 2: JUNK, 3: good("after", To=to)})

    with ImapServer(imap_box) as port:
        report = mailbox_poll(mailbox_id=box.id, client=connect(port))
        again = mailbox_poll(mailbox_id=box.id, client=connect(port))

    assert (report["stored"], report["unparsable"], report["matched"]) == (3, 1, 2)
    assert imap_box.unseen() == []
    assert again["stored"] == 0  # nothing left unseen: the poll never stalls on it
    kept = Response.objects.get(kind=Response.Kind.UNPARSABLE)
    assert bytes(kept.raw) == JUNK
    letter.refresh_from_db()
    assert letter.status == Letter.Status.ANSWERED


def test_a_message_that_cannot_be_stored_is_moved_aside_and_the_poll_goes_on(
    letter_box, monkeypatch, settings
):
    from letters import inbound

    _, box = letter_box
    settings.INBOUND_POISON_FOLDER = "Quarantine"
    real = inbound.mail_ingest

    def ingest(*, raw, **kwargs):
        if b"Subject: poison" in raw:
            raise RuntimeError("the database refused it")
        return real(raw=raw, **kwargs)

    monkeypatch.setattr(inbound, "mail_ingest", ingest)
    imap_box = ImapMailbox({7: good("first"), 8: good("poison"), 9: good("last")})

    with ImapServer(imap_box) as port:
        report = mailbox_poll(mailbox_id=box.id, client=connect(port))

    assert (report["stored"], report["poisoned"]) == (2, 1)
    assert imap_box.copies == {"Quarantine": [8]}
    assert imap_box.unseen() == []
    assert set(Response.objects.values_list("subject", flat=True)) == {"first", "last"}


def test_the_poll_stores_a_message_once_when_it_is_read_again(letter_box):
    _, box = letter_box
    imap_box = ImapMailbox({1: good("once")})
    with ImapServer(imap_box) as port:
        mailbox_poll(mailbox_id=box.id, client=connect(port))
        imap_box.flags.clear()  # another client marked it unseen again
        report = mailbox_poll(mailbox_id=box.id, client=connect(port))
    assert (report["stored"], report["duplicates"]) == (0, 1)
    assert Response.objects.count() == 1
