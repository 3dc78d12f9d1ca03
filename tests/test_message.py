from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default

import pytest

from letters.message import (
    OutgoingLetter,
    UnsafeHeaderError,
    address_checked,
    message_build,
    message_id_new,
)

TOKEN = "a" * 32


def outgoing(**overrides) -> OutgoingLetter:
    values = {
        "message_id": message_id_new(TOKEN, "ftc.example"),
        "token": TOKEN,
        "agency_name": "Federal Trade Commission",
        "agency_address": "relay@ftc.example",
        "reply_domain": "ftc.example",
        "recipient": "abuse@isp.example",
        "recipient_name": "ISP Networks",
        "subject": "Votre serveur de messagerie est un relais ouvert",
        "text": "Madame, Monsieur,\n",
        "html": "<p>Madame, Monsieur,</p>",
        "language": "fr",
    }
    values.update(overrides)
    return OutgoingLetter(**values)


def parsed(letter: OutgoingLetter, **kwargs):
    return message_from_bytes(message_build(letter, **kwargs), policy=default)


def test_it_builds_multipart_text_and_html_in_the_letters_language():
    message = parsed(outgoing())
    assert message.get_content_type() == "multipart/alternative"
    assert message["Content-Language"] == "fr"
    assert message.get_body(("plain",)).get_content().strip() == "Madame, Monsieur,"
    assert "<p>Madame" in message.get_body(("html",)).get_content()
    assert message["Subject"] == "Votre serveur de messagerie est un relais ouvert"


def test_it_attaches_the_pdf_when_given():
    message = parsed(outgoing(pdf=b"%PDF-1.7 fake", pdf_filename="letter-7.pdf"))
    assert message.get_content_type() == "multipart/mixed"
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["letter-7.pdf"]
    assert attachments[0].get_content() == b"%PDF-1.7 fake"


def test_it_sets_from_reply_to_token_auto_submitted_and_opt_out():
    letter = outgoing(opt_out_url="https://ftc.example/optout")
    message = parsed(letter)
    assert message["From"].addresses[0].addr_spec == "relay@ftc.example"
    assert message["Reply-To"].addresses[0].addr_spec == f"relay+{TOKEN}@ftc.example"
    assert message["Message-ID"] == letter.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == (
        f"<https://ftc.example/optout>, <mailto:optout+{TOKEN}@ftc.example>"
    )


def test_it_cannot_be_made_to_inject_a_header_through_whois_strings():
    letter = outgoing(
        recipient_name="Evil\r\nBcc: victim@elsewhere.example",
        subject="Hi\nBcc: victim@elsewhere.example",
        agency_name="FTC\r\nX-Injected: yes",
    )
    raw = message_build(letter)
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers
    assert b"\r\nX-Injected:" not in headers


@pytest.mark.parametrize(
    "address",
    [
        "abuse@isp.example\r\nBcc: x@y.example",
        '"a@b"@isp.example',
        "abuse@isp.example>, other@x.example",
        "@isp.example",
        "abuse",
        "a..b@isp.example",
    ],
)
def test_it_refuses_addresses_that_are_not_plain(address):
    with pytest.raises(UnsafeHeaderError):
        address_checked(address)
    with pytest.raises(UnsafeHeaderError):
        message_build(outgoing(recipient=address))


def test_it_sends_test_mode_copies_to_the_test_address_and_names_the_original():
    message = parsed(outgoing(), recipient_override="tester@agency.example")
    assert message["To"].addresses[0].addr_spec == "tester@agency.example"
    assert message["X-Outreach-Test-Original-To"] == "abuse@isp.example"


def test_it_encodes_non_ascii_names_and_subjects_so_they_read_back_unchanged():
    letter = outgoing(
        agency_name="Commission fédérale du commerce",
        recipient_name="株式会社 例",
        subject="貴社のメールサーバーはオープンリレーです" * 3,
        text="日本語の本文です。\n" * 40,
    )
    message = parsed(letter)
    assert message["From"].addresses[0].display_name == "Commission fédérale du commerce"
    assert message["To"].addresses[0].display_name == "株式会社 例"
    assert message["Subject"] == "貴社のメールサーバーはオープンリレーです" * 3
    assert message.get_body(("plain",)).get_content().strip().endswith("日本語の本文です。")
    assert all(len(line) <= 998 for line in message_build(letter).split(b"\r\n"))


def test_it_refuses_a_language_tag_that_is_not_one():
    with pytest.raises(UnsafeHeaderError):
        message_build(outgoing(language="fr\r\nBcc: x@y.example"))


@pytest.mark.parametrize(
    "subject",
    ["Ваш почтовый сервер — открытый ретранслятор", "خادم البريد لديك مفتوح", "🙂" * 30, "é" * 200],
)
def test_it_folds_encoded_subjects_into_short_words_that_read_back(subject):
    from letters.message import _header

    encoded = _header(subject)
    assert all(len(line.strip()) <= 75 for line in encoded.split("\r\n"))
    assert all(line.startswith(" ") for line in encoded.split("\r\n")[1:])
    assert str(make_header(decode_header(encoded))) == subject
