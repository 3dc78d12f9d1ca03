from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from letters.inbound import InboundError, mail_ingest, mail_paths_ingest
from letters.mailparse import mail_parse
from letters.models import Letter, Response
from letters.responses import bounce_record
from tests.command_io import bar_drawn, json_lines, run_command
from tests.factories import ContactFactory, LetterFactory
from tests.inbound_helpers import sent_letter_ingest, to_letter

FIXTURES = Path(__file__).parent / "fixtures"
BOUNCES = FIXTURES / "bounces"


def sample(name: str) -> bytes:
    return (BOUNCES / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "permanent"),
    [
        ("dsn_01.txt", ["jimmymcegypt@go.com"]),
        ("postfix_01.txt", ["xxxxx@local.ie"]),
        ("qmail_01.txt", ["psadisc@wwwmail.n-h.de"]),
        ("exim_01.txt", ["delangen@its.tudelft.nl"]),
        ("simple_01.txt", ["bbbsss@turbosport.com"]),
    ],
)
def test_it_reads_hard_bounces_from_several_mtas(name, permanent):
    parsed = mail_parse(sample(name))
    assert parsed.kind == "bounce"
    assert parsed.permanent == permanent


@pytest.mark.parametrize(
    "name", ["sendmail_01.txt", "microsoft_01.txt", "aol_01.txt", "groupwise_01.txt"]
)
def test_it_classifies_other_mta_formats_as_bounces(name):
    parsed = mail_parse(sample(name))
    assert parsed.kind == "bounce"
    assert parsed.permanent or parsed.temporary


def test_it_decides_severity_by_the_status_code_before_the_text():
    # qmail-style Yahoo report: "(#4.4.1) I'm not going to try again". The
    # status code decides first (issue 16), so it is soft, never hard.
    parsed = mail_parse(sample("yahoo_01.txt"))
    assert (parsed.kind, parsed.severity, parsed.status) == ("bounce", "soft", "4.4.1")
    assert parsed.temporary == ["subscribe.motorcycles@listsociety.com"]


def test_it_tells_a_temporary_dsn_from_a_permanent_one():
    parsed = mail_parse(sample("dsn_05.txt"))
    assert parsed.kind == "bounce"
    assert parsed.temporary and not parsed.permanent
    assert not parsed.hard


@pytest.mark.parametrize("name", ["rfc3834.eml", "exchange-oof.eml", "x-autoreply.eml"])
def test_it_recognises_auto_replies(name):
    parsed = mail_parse((FIXTURES / "autoreplies" / name).read_bytes())
    assert parsed.kind == "auto_reply"
    assert parsed.address_tokens == []  # "TOKEN" is too short to be one


def reply(**headers) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Abuse Desk <abuse@isp.example>")
    message["Subject"] = headers.pop("Subject", "Re: open relay")
    message["Message-ID"] = headers.pop("Message_ID", "<r1@isp.example>")
    body = headers.pop("body", "We closed the relay yesterday.\n")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.mark.django_db
def test_it_matches_a_reply_by_its_reply_to_token():
    letter = LetterFactory(status=Letter.Status.SENT)
    response = mail_ingest(raw=reply(To=f"FTC <relay+{letter.reply_token}@ftc.example>"))
    letter.refresh_from_db()
    assert (response.letter, response.kind) == (letter, Response.Kind.REPLY)
    assert response.outcome == "matched by token"
    assert letter.status == Letter.Status.ANSWERED


@pytest.mark.django_db
def test_it_matches_by_in_reply_to_when_the_address_lost_its_token():
    letter = LetterFactory(status=Letter.Status.SENT, message_id="<orig.1@ftc.example>")
    raw = reply(To="relay@ftc.example", In_Reply_To="<orig.1@ftc.example>")
    response = mail_ingest(raw=raw)
    assert (response.letter, response.outcome) == (letter, "matched by in_reply_to")


@pytest.mark.django_db
def test_it_matches_a_token_quoted_in_the_body():
    letter = LetterFactory(status=Letter.Status.SENT)
    body = f"> Reply to relay+{letter.reply_token}@ftc.example\nDone.\n"
    response = mail_ingest(raw=reply(To="someone@ftc.example", body=body))
    assert (response.letter, response.outcome) == (letter, "matched by body_token")


@pytest.mark.django_db
def test_it_queues_mail_it_cannot_match():
    response = mail_ingest(raw=reply(To="someone@ftc.example"))
    assert response.letter is None
    assert list(Response.objects.unmatched()) == [response]


@pytest.mark.django_db
def test_it_stores_a_message_once_however_often_it_is_read():
    LetterFactory()
    assert mail_ingest(raw=reply()) is not None
    assert mail_ingest(raw=reply()) is None
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_it_maps_a_real_bounce_to_its_letter_by_the_verp_envelope():
    response, letter = sent_letter_ingest(sample("postfix_01.txt"))
    assert (response.kind, response.letter) == (Response.Kind.BOUNCE, letter)
    assert "hard bounce" in response.outcome
    assert letter.status == Letter.Status.BOUNCED
    assert letter.contact.bounce_score == 1.0


@pytest.mark.django_db
def test_it_counts_an_unreadable_bounce_to_the_verp_address_as_a_bounce():
    letter = LetterFactory(status=Letter.Status.SENT)
    raw = reply(
        From="MAILER-DAEMON@mx.isp.example",
        To=to_letter(letter),
        Subject="failure",
        body="Something went wrong.\n",
    )
    assert mail_ingest(raw=raw).kind == Response.Kind.BOUNCE


@pytest.mark.django_db
def test_it_sets_do_not_contact_on_an_opt_out():
    letter = LetterFactory(status=Letter.Status.SENT)
    mail_ingest(raw=reply(To=f"optout+{letter.reply_token}@ftc.example"))
    letter.contact.refresh_from_db()
    assert letter.contact.do_not_contact
    assert letter.contact.do_not_contact_reason == "asked by email"


@pytest.mark.django_db
def test_it_scores_bounces_once_a_day_and_disables_at_the_threshold(settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.BOUNCE_DISABLE_SCORE = 2
    contact = ContactFactory()
    letter = LetterFactory(contact=contact, status=Letter.Status.SENT)
    start = timezone.now() - timedelta(days=10)
    for day, hard in [(0, True), (0, True), (2, False), (4, True)]:
        when = start + timedelta(days=day)
        Response.objects.create(letter=letter, kind=Response.Kind.BOUNCE, received_at=when)
        bounce_record(letter=letter, hard=hard, when=when)
        contact.refresh_from_db()
    assert contact.bounce_score == 2.5
    assert contact.do_not_contact
    assert contact.do_not_contact_reason == "disabled: too many bounces"


def mail_files(tmp_path: Path, *, maildir: bool = False) -> list[str]:
    """An mbox of two replies to a letter, (a Maildir of one,) and an .eml matching none."""
    letter = LetterFactory(status=Letter.Status.SENT)
    to = f"relay+{letter.reply_token}@ftc.example"
    box = mailbox.mbox(tmp_path / "in.mbox")
    box.add(reply(To=to, Message_ID="<m1@isp.example>"))
    box.add(reply(To=to, Message_ID="<m2@isp.example>"))
    box.close()
    paths = [tmp_path / "in.mbox"]
    if maildir:
        mailbox.Maildir(tmp_path / "Maildir").add(reply(To=to, Message_ID="<m3@isp.example>"))
        paths.append(tmp_path / "Maildir")
    (tmp_path / "one.eml").write_bytes(reply(To="x@ftc.example", Message_ID="<m4@isp.example>"))
    return [str(path) for path in [*paths, tmp_path / "one.eml"]]


@pytest.mark.django_db
def test_it_ingests_mbox_maildir_and_eml_files(tmp_path):
    paths = mail_files(tmp_path, maildir=True)
    report = mail_paths_ingest(paths=[Path(path) for path in paths])
    assert (report["stored"], report["matched"]) == (4, 3)


@pytest.mark.django_db
def test_the_ingest_command_prints_a_file_a_line_and_the_totals_as_json(tmp_path):
    mbox, eml = mail_files(tmp_path)
    rows = json_lines(run_command("ingest_mail", mbox, eml, "--json")[0])
    counts = {"duplicates": 0, "poisoned": 0, "unparsable": 0}
    assert rows == [
        {"path": mbox, "stored": 2, "matched": 2} | counts,
        {"path": eml, "stored": 1, "matched": 0} | counts,
        {"summary": True, "stored": 3, "matched": 2} | counts,
    ]
    again = json_lines(run_command("ingest_mail", mbox, eml, "--json")[0])
    assert (again[-1]["stored"], again[-1]["duplicates"]) == (0, 3)


@pytest.mark.django_db
def test_the_ingest_command_shows_progress_on_a_terminal_only(tmp_path):
    paths = mail_files(tmp_path)
    out, err = run_command("ingest_mail", *paths, tty=True)
    assert bar_drawn(err) and "3 messages" in err
    assert out.startswith("stored 3 (2 matched") and not bar_drawn(out)
    assert not bar_drawn(run_command("ingest_mail", *paths)[1])
    assert not bar_drawn(run_command("ingest_mail", *paths, "--json", tty=True)[1])


@pytest.mark.django_db
def test_it_refuses_an_oversized_file_and_keeps_nothing_of_it(tmp_path, settings):
    settings.INBOUND_MAX_BYTES = 1024
    box = mailbox.mbox(tmp_path / "in.mbox")
    box.add(reply(Message_ID="<small@isp.example>"))
    box.add(reply(Message_ID="<big@isp.example>", body="x" * 5000))
    box.close()
    with pytest.raises(InboundError, match="over INBOUND_MAX_BYTES"):
        mail_paths_ingest(paths=[tmp_path / "in.mbox"])
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_the_command_names_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest_mail", str(tmp_path / "nope.eml"))


def test_it_survives_hostile_garbage():
    parsed = mail_parse(b"\x00\xff" * 500 + b"\r\n\r\n" + b"\x80" * 100)
    assert parsed.kind == "unparsable"


@pytest.mark.django_db(transaction=True)
def test_the_smtp_receiver_stores_what_it_receives():
    import asyncio
    import smtplib

    from aiosmtpd.controller import Controller
    from asgiref.sync import sync_to_async
    from django.db import connections

    from lab.mailsink import free_port
    from letters.inbound import InboundHandler

    letter = LetterFactory(status=Letter.Status.SENT)
    port = free_port()
    controller = Controller(
        InboundHandler(), hostname="127.0.0.1", port=port, server_hostname="in.localdomain"
    )
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.localdomain") as client:
            client.sendmail(
                "abuse@isp.example", [f"relay+{letter.reply_token}@ftc.example"], reply()
            )
    finally:
        controller.stop()
        # The handler's database work ran in asgiref's worker thread: close
        # that thread's connection, as Django does at the end of a request.
        asyncio.run(sync_to_async(connections.close_all)())
    response = Response.objects.get()
    assert (response.letter_id, response.kind) == (letter.id, Response.Kind.REPLY)


@pytest.mark.django_db
def test_a_disabled_contact_hands_its_letter_to_the_next_contact(monkeypatch, settings):
    from letters import responses

    settings.BOUNCE_DISABLE_SCORE = 1
    letter = LetterFactory(status=Letter.Status.SENT, message_id="<old@ftc.example>")
    backup = ContactFactory()
    monkeypatch.setattr(responses, "contact_fallback", lambda *, contact_id: backup)

    bounce_record(letter=letter, hard=True)

    letter.refresh_from_db()
    assert (letter.contact, letter.status, letter.outcome) == (
        backup,
        Letter.Status.DRAFT,
        "fallback_contact",
    )
    assert letter.message_id is None


class FakeImap:
    """Answers the few IMAP commands the poller sends, like imaplib does."""

    def __init__(self, messages: dict[bytes, bytes]) -> None:
        self.messages = messages
        self.seen: list[bytes] = []
        self.logged_out = False

    def select(self, folder):
        return "OK", [str(len(self.messages)).encode()]

    def uid(self, command, *args):
        if command == "SEARCH":
            return "OK", [b" ".join(self.messages)]
        if command == "FETCH" and args[1] == "(RFC822.SIZE)":
            return "OK", [b"1 (UID %s RFC822.SIZE %d)" % (args[0], len(self.messages[args[0]]))]
        if command == "FETCH":
            return "OK", [(b"1 (UID %s BODY[] {n}" % args[0], self.messages[args[0]]), b")"]
        if command == "STORE":
            self.seen.append(args[0])
            return "OK", []
        raise AssertionError(command)

    def logout(self):
        self.logged_out = True


@pytest.mark.django_db
def test_the_imap_poller_stores_unseen_mail_skips_oversized_and_marks_it_seen(settings):
    from letters.inbound import mailbox_poll
    from letters.models import Mailbox

    settings.INBOUND_MAX_BYTES = 2048
    letter = LetterFactory(status=Letter.Status.SENT)
    box = Mailbox.objects.create(
        agency=letter.agency, host="imap.ftc.example", username="relay", password_env="X"
    )
    to = f"relay+{letter.reply_token}@ftc.example"
    imap = FakeImap(
        {
            b"7": reply(To=to, Message_ID="<i1@isp.example>"),
            b"8": reply(To=to, Message_ID="<i2@isp.example>", body="y" * 4000),
        }
    )

    report = mailbox_poll(mailbox_id=box.id, client=imap)

    assert (report["stored"], report["matched"]) == (1, 1)
    assert imap.seen == [b"7", b"8"] and imap.logged_out
    box.refresh_from_db()
    assert box.polled_at is not None


@pytest.mark.django_db
def test_it_counts_a_bounce_without_a_message_id_once_however_often_it_is_read():
    letter = LetterFactory(status=Letter.Status.SENT)
    verp = (to_letter(letter),)
    raw = b"\n".join(
        line for line in sample("qmail_01.txt").splitlines() if not line.startswith(b"Message-")
    )
    assert mail_ingest(raw=raw, envelope_recipients=verp) is not None
    assert mail_ingest(raw=raw, envelope_recipients=verp) is None
    letter.contact.refresh_from_db()
    assert letter.contact.bounce_score == 1.0


@pytest.fixture
def two_mailboxes(monkeypatch):
    """One mailbox holding a reply to a sent letter, and one that is down."""
    from letters import inbound
    from tests.factories import MailboxFactory

    letter = LetterFactory(status=Letter.Status.SENT)
    up = MailboxFactory(agency=letter.agency, host="up.ftc.example")
    down = MailboxFactory(agency=letter.agency, host="down.ftc.example")
    to = f"relay+{letter.reply_token}@ftc.example"

    def connect(box):
        if box.id != up.id:
            raise OSError("connection refused")
        return FakeImap({b"1": reply(To=to, Message_ID="<p1@isp.example>")})

    monkeypatch.setattr(inbound, "_imap_connect", connect)
    return letter, up, down


@pytest.mark.django_db
def test_the_poll_command_reads_each_mailbox_and_survives_one_that_is_down(two_mailboxes):
    letter, _up, _down = two_mailboxes
    out, err = run_command("poll_mailboxes")
    assert "stored 1 (1 matched)" in out
    assert "down.ftc.example" in err
    assert Response.objects.get().letter == letter


@pytest.mark.django_db
def test_the_poll_command_prints_a_mailbox_a_line_as_json(two_mailboxes):
    _letter, up, down = two_mailboxes
    out, err = run_command("poll_mailboxes", "--json")
    rows = {row.get("mailbox"): row for row in json_lines(out)}
    assert rows[str(up)] == {
        "mailbox": str(up),
        "stored": 1,
        "matched": 1,
        "duplicates": 0,
        "poisoned": 0,
        "unparsable": 0,
    }
    assert rows[str(down)] == {"mailbox": str(down), "error": "OSError: connection refused"}
    assert rows[None] == {
        "summary": True,
        "mailboxes": 2,
        "failed": 1,
        "stored": 1,
        "matched": 1,
        "duplicates": 0,
        "poisoned": 0,
        "unparsable": 0,
    }
    assert "down.ftc.example" in err


@pytest.mark.django_db
def test_the_poll_command_shows_progress_on_a_terminal_only(two_mailboxes):
    assert bar_drawn(run_command("poll_mailboxes", tty=True)[1])
    assert not bar_drawn(run_command("poll_mailboxes")[1])
    assert not bar_drawn(run_command("poll_mailboxes", "--json", tty=True)[1])
