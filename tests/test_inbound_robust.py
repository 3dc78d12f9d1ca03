"""Inbound mail never stops on a bad message, never stores one twice, and
only a person's reply marks a letter answered."""

from __future__ import annotations

import io
import itertools
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letters.inbound import mail_ingest, mail_paths_ingest
from letters.mailparse import mail_parse
from letters.models import Letter, Response
from letters.responses import bounce_record, response_assign
from tests.factories import LetterFactory
from tests.inbound_helpers import sent_letter_ingest, to_letter
from tests.letters_helpers import reloaded

MALFORMED = Path(__file__).parent / "fixtures" / "mail" / "malformed"
_ids = itertools.count()


def good(subject: str = "Re: open relay", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Abuse Desk <abuse@isp.example>")
    message["To"] = headers.pop("To", "relay@ftc.example")
    message["Subject"] = subject
    message["Message-ID"] = f"<good.{next(_ids)}@isp.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("We closed it.\n")
    return message.as_bytes()


# --- hostile headers and MIME ----------------------------------------------

BAD_MESSAGES = {
    "bad encoded-words in To and Cc": (
        b"From: =?utf-8?B?broken?= <a@x.example>\r\n"
        b"To: =?x-unknown?Q?=FF=FE?= <b@y.example>, =?utf-8?Q?unterminated\r\n"
        b"Cc: =?iso-8859-1?B?!!!notbase64!!!?=\r\nSubject: =?utf-8?B?4pyTIMOgIGxhIGNvbXB0?=\r\n"
        b"Message-ID: <bad.words@x.example>\r\n\r\nbody\r\n"
    ),
    "unknown charset": (
        b"From: a@x.example\r\nSubject: hi\r\nMessage-ID: <charset@x.example>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\xfa bytes\r\n"
    ),
    "NULs and 8-bit junk": b"\x00\xff" * 500 + b"\r\n\r\n" + b"\x80\x00" * 100,
    "NUL in the body of a readable message": (
        b"From: a@x.example\r\nSubject: nul\r\nMessage-ID: <nul@x.example>\r\n\r\nA\x00B\r\n"
    ),
    "huge header": (
        b"From: a@x.example\r\nSubject: " + b"x" * 200_000 + b"\r\n"
        b"Message-ID: <huge@x.example>\r\n\r\nbody\r\n"
    ),
    "broken MIME": (
        b"From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n"
        b"Message-ID: <mime@x.example>\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822;\r\n"
        b"--c--\r\n"
    ),
}


@pytest.mark.parametrize("name", BAD_MESSAGES)
def test_it_reads_a_hostile_message_without_raising(name):
    parsed = mail_parse(BAD_MESSAGES[name])
    assert parsed.kind in {"reply", "bounce", "unparsable"}
    assert "\x00" not in parsed.body


@pytest.mark.django_db
@pytest.mark.parametrize("name", BAD_MESSAGES)
def test_a_bad_message_in_an_mbox_keeps_the_good_ones_around_it(tmp_path, name):
    path = tmp_path / "in.mbox"
    box = mailbox.mbox(path)
    for raw in (good("first"), BAD_MESSAGES[name], good("last")):
        box.add(raw)
    box.close()

    report = mail_paths_ingest(paths=[path])

    assert report["stored"] == 3
    subjects = set(Response.objects.values_list("subject", flat=True))
    assert {"first", "last"} <= subjects


@pytest.mark.django_db
def test_an_unreadable_message_is_stored_as_unparsable_with_its_raw_bytes():
    raw = BAD_MESSAGES["NULs and 8-bit junk"]
    response = mail_ingest(raw=raw)
    assert (response.kind, response.rule) == (Response.Kind.UNPARSABLE, "no_headers")
    assert bytes(response.raw) == raw


@pytest.mark.django_db
def test_overlong_headers_are_cut_to_their_columns_and_the_message_is_still_known_once():
    long_id = f"<{'a' * 200}@{'b' * 90}.example>"
    raw = (
        f"From: {'x' * 300}@isp.example\r\nSubject: {'s' * 1500}\r\n"
        f"Message-ID: {long_id}\r\n\r\nWe closed it.\r\n"
    ).encode()

    response = Response.objects.get(pk=mail_ingest(raw=raw).pk)

    assert response.kind == Response.Kind.REPLY
    assert (len(response.sender), len(response.subject)) == (254, 998)
    assert response.message_id == long_id
    assert response.identity == long_id[:128]
    assert mail_ingest(raw=raw) is None  # the bounded identity still finds it


@pytest.mark.django_db
def test_a_truncated_mbox_keeps_what_it_holds(tmp_path):
    path = tmp_path / "cut.mbox"
    box = mailbox.mbox(path)
    box.add(good("whole"))
    box.add(good("cut short"))
    box.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 12])  # the last message loses its end

    report = mail_paths_ingest(paths=[path])

    assert report["stored"] == 2
    assert Response.objects.filter(subject="whole").exists()


@pytest.mark.django_db
def test_real_broken_messages_all_ingest():
    # flanker's and the Ruby mail gem's collections of broken real mail.
    paths = sorted(MALFORMED.glob("*.eml"))
    assert len(paths) >= 35
    report = mail_paths_ingest(paths=paths)
    assert report["stored"] + report["duplicates"] == len(paths)


@pytest.mark.django_db
def test_a_failure_storing_one_message_keeps_it_raw_and_goes_on(tmp_path, monkeypatch):
    from letters import inbound

    real = inbound.mail_parse

    def parse(raw, **kwargs):
        parsed = real(raw, **kwargs)
        if parsed.subject == "poison":
            parsed.kind = "no such kind"  # the row cannot be stored as it is
        return parsed

    monkeypatch.setattr(inbound, "mail_parse", parse)
    path = tmp_path / "in.mbox"
    box = mailbox.mbox(path)
    for raw in (good("first"), good("poison"), good("last")):
        box.add(raw)
    box.close()

    report = mail_paths_ingest(paths=[path])

    assert report["stored"] == 3 and report["unparsable"] == 1
    kept = Response.objects.get(kind=Response.Kind.UNPARSABLE)
    assert kept.rule.startswith("store_error:") and b"Subject: poison" in bytes(kept.raw)


# Hypothesis builds messages from header and MIME pieces, good and bad.
header_names = st.sampled_from(
    [
        "Subject",
        "From",
        "To",
        "Cc",
        "Content-Type",
        "Content-Transfer-Encoding",
        "X-Junk",
        "MIME-Version",
    ]
)
header_values = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "=?utf-8?B?%%%?=",
            "=?unknown?Q?=ZZ?=",
            "multipart/mixed; boundary=",
            'multipart/report; report-type=delivery-status; boundary="z"',
            "text/plain; charset=no-such",
            "base64",
            "quoted-printable",
            "message/rfc822",
        ]
    ),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"--z\r\nContent-Type: text/plain\r\n\r\nx\r\n", b"--z--", b"=\r\n=ZZ", b"\x00" * 10]
    ),
)


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=8))
    lines = [f"{name}: {value}".encode("utf-8", "surrogateescape") for name, value in headers]
    separator = draw(st.sampled_from([b"\r\n\r\n", b"\n\n", b"\r\n", b""]))
    return b"\r\n".join(lines) + separator + draw(bodies)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=hostile())
def test_fuzzed_messages_ingest_and_the_good_ones_around_survive(tmp_path_factory, bad):
    path = tmp_path_factory.mktemp("fuzz") / "in.mbox"
    first, last = good("first"), good("last")
    box = mailbox.mbox(path)
    for raw in (first, bad, last):
        box.add(raw)
    box.close()
    before = Response.objects.count()

    report = mail_paths_ingest(paths=[path])

    assert report["stored"] + report["duplicates"] >= 2
    assert Response.objects.count() == before + report["stored"]
    for raw in (first, last):
        message_id = mail_parse(raw).message_id
        assert Response.objects.filter(message_id=message_id).count() == 1


# --- what a message does to its letter -------------------------------------


def fixture(name: str) -> bytes:
    return (Path(__file__).parent / "fixtures" / "mail" / name).read_bytes()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("flanker/disposition-notification.eml", Response.Kind.READ_RECEIPT),
        ("phpbouncehandler/sendmail-dsn-hdrs-delivered.eml", Response.Kind.DELIVERY_REPORT),
        ("bounceparser/polish-autoreply.msg", Response.Kind.AUTO_REPLY),
        ("bounceparser/boxbe-cr.msg", Response.Kind.CHALLENGE),
    ],
)
def test_receipts_reports_auto_replies_and_challenges_never_answer_a_letter(name, kind):
    response, letter = sent_letter_ingest(fixture(name), prefix="relay")
    assert (response.kind, response.letter) == (kind, letter)
    assert response.rule
    assert letter.status == Letter.Status.SENT
    assert letter.contact.bounce_score == 0


@pytest.mark.django_db
def test_a_delay_is_stored_soft_and_never_bounces_the_letter():
    response, letter = sent_letter_ingest(fixture("flanker/no-mx.eml"))
    assert (response.kind, response.severity, response.rule) == ("bounce", "soft", "rfc3464_dsn")
    assert response.failed_recipients == ["user@example.com"]
    assert letter.status == Letter.Status.SENT
    assert letter.contact.bounce_score == 0.5


@pytest.mark.django_db
def test_a_bounce_of_unknown_severity_is_recorded_but_scores_nothing(settings):
    settings.BOUNCE_DISABLE_SCORE = 1
    letter = LetterFactory(status=Letter.Status.SENT)
    raw = good("Undeliverable", From="postmaster@mx.isp.example", To=to_letter(letter))
    response = mail_ingest(raw=raw)
    reloaded(letter)
    assert (response.kind, response.severity) == ("bounce", "unknown")
    assert (letter.status, letter.contact.bounce_score) == (Letter.Status.SENT, 0)
    assert not letter.contact.do_not_contact


@pytest.mark.django_db
def test_a_bounce_from_any_sender_to_the_verp_address_is_a_bounce():
    raw = fixture("bounceparser/quota-6.msg").replace(b"MAILER-DAEMON@", b"sysadmin-notices@")
    response, letter = sent_letter_ingest(raw)
    assert (response.kind, response.severity, response.letter) == ("bounce", "hard", letter)


@pytest.mark.django_db
def test_assigning_a_queued_bounce_uses_its_stored_severity_not_its_note():
    letter = LetterFactory(status=Letter.Status.SENT)
    response = mail_ingest(raw=fixture("flanker/no-mx.eml"))
    assert response.letter is None
    Response.objects.filter(id=response.id).update(outcome="hard bounce (edited note)")

    response_assign(response_id=response.id, letter_id=letter.id, user_id=None)

    reloaded(letter)
    assert letter.status == Letter.Status.SENT  # soft: the letter did not bounce
    assert letter.contact.bounce_score == 0.5


@pytest.mark.django_db
def test_a_hard_bounce_names_the_letter_recipient_among_several_failures():
    raw = fixture("bounceparser/iis-multiple-bounce.msg")
    response, _letter = sent_letter_ingest(raw, contact__email="bounced3@example.net")
    assert len(response.failed_recipients) == 4
    assert "the letter's recipient bounced3@example.net" in response.outcome


def test_unknown_severity_never_scores(db):
    letter = LetterFactory(status=Letter.Status.SENT)
    bounce_record(letter=letter, severity="unknown")
    letter.contact.refresh_from_db()
    assert letter.contact.bounce_score == 0


@pytest.mark.django_db
def test_the_ingest_command_counts_unparsable_mail(tmp_path):
    from django.core.management import call_command

    path = tmp_path / "in.mbox"
    box = mailbox.mbox(path)
    for raw in (good("first"), BAD_MESSAGES["NULs and 8-bit junk"]):
        box.add(raw)
    box.close()
    out = io.StringIO()
    call_command("ingest_mail", str(path), stdout=out)
    assert "stored 2 (0 matched to a letter, 1 unparsable, kept raw)" in out.getvalue()


@pytest.mark.django_db
def test_unreadable_mail_to_a_verp_address_is_linked_to_its_letter_but_does_nothing():
    response, letter = sent_letter_ingest(BAD_MESSAGES["NULs and 8-bit junk"])
    assert (response.kind, response.letter) == (Response.Kind.UNPARSABLE, letter)
    assert (letter.status, letter.contact.bounce_score) == (Letter.Status.SENT, 0)
