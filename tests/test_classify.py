# ruff: noqa: RUF001 (subjects in other scripts)
"""letters.classify on its own: one kind per message, by the standards first."""

from __future__ import annotations

from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letters.classify import Context, message_classify
from letters.mailparse import mail_parse

VERP = Context(to_verp=True)


def message(body: str = "Thanks, we will look.\n", **headers: str):
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Abuse Desk <abuse@isp.example>")
    msg["To"] = headers.pop("To", "relay@ftc.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return message_from_bytes(msg.as_bytes())


# Outlook's and the usual clients' automatic-reply subjects in each of the 23
# letter languages (locale/ plus English) and the other common ones.
AUTO_SUBJECTS = {
    "en": "Automatic reply: Open relay on 192.0.2.1",
    "ar": "رد تلقائي: Open relay on 192.0.2.1",
    "cs": "Automatická odpověď: Otevřený relay",
    "de": "Automatische Antwort: Offenes Relay",
    "el": "Αυτόματη απάντηση: Open relay",
    "es": "Respuesta automática: Relé abierto",
    "fr": "Réponse automatique : Relais ouvert",
    "he": "תשובה אוטומטית: Open relay",
    "id": "Balasan Otomatis: Open relay",
    "it": "Risposta automatica: Relay aperto",
    "ja": "自動応答: オープンリレー",
    "ko": "자동 회신: 오픈 릴레이",
    "nl": "Automatisch antwoord: Open relay",
    "pl": "Automatyczna odpowiedź: Otwarty przekaźnik",
    "pt": "Resposta automática: Relay aberto",
    "ro": "Răspuns automat: Releu deschis",
    "ru": "Автоматический ответ: Открытый ретранслятор",
    "sv": "Automatiskt svar: Öppen relä",
    "th": "ตอบกลับอัตโนมัติ: Open relay",
    "tr": "Otomatik yanıt: Açık röle",
    "uk": "Автоматична відповідь: Відкритий ретранслятор",
    "vi": "Trả lời tự động: Open relay",
    "zh_Hans": "自动回复: 开放中继",
    "zh_Hant": "自動回覆: 開放中繼",
    "da": "Automatisk svar: Åbent relæ",
    "fi": "Automaattinen vastaus: Avoin välittäjä",
    "hu": "Automatikus válasz: Nyílt továbbító",
    "no": "Automatisk svar: Åpent relé",
    "en-ooo": "Out of Office: Open relay",
    "de-ooo": "Abwesenheitsnotiz: Offenes Relay",
    "fr-ooo": "Absence du bureau",
    "es-ooo": "Fuera de la oficina",
    "it-ooo": "Fuori sede",
    "pl-ooo": "Poza biurem",
    "nl-ooo": "Afwezig",
    "pt-ooo": "Fora do escritório",
    "tr-ooo": "Ofis dışında: Açık röle",
    "ja-ooo": "不在のお知らせ",
    "ko-ooo": "부재중: 오픈 릴레이",
    "zh-ooo": "休假 自动回复",
    "lotus": "AUTO: Jane Doe is out of the office (returning 05/01/2026)",
}


@pytest.mark.parametrize("language", AUTO_SUBJECTS)
def test_it_recognises_automatic_reply_subjects_in_every_language(language):
    verdict = message_classify(message(Subject=AUTO_SUBJECTS[language]))
    assert (verdict.kind, verdict.rule) == ("auto_reply", "autoreply_subject")


def test_it_decodes_an_encoded_subject_before_reading_it():
    subject = Header("Réponse automatique : relais", "utf-8").encode()
    assert message_classify(message(Subject=subject)).kind == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Arpus biroja atrasanas automatiska atbilde: Open relay",  # lv, as Exchange 2003 sent it
        "Respuesta automatica: Rele abierto",
        "Automatyczna odpowiedz: Otwarty przekaznik",
        "Automaticka odpoved: Otevreny relay",
        "Raspuns automat: Releu deschis",
    ],
)
def test_an_automatic_reply_subject_without_its_accents_is_still_one(subject):
    assert message_classify(message(Subject=subject)).kind == "auto_reply"


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ({"Auto_Submitted": "auto-replied"}, "rfc3834_auto_submitted"),
        ({"Auto_Submitted": "auto-replied (vacation)"}, "rfc3834_vacation"),
        ({"Precedence": "bulk"}, "precedence_bulk"),
        ({"Precedence": "junk"}, "precedence_junk"),
        ({"Precedence": "list"}, "precedence_list"),
        ({"X_Autoreply": "yes"}, "x_autoreply_header"),
        ({"X_Autorespond": "yes"}, "x_autoreply_header"),
        ({"X_Auto_Response_Suppress": "All"}, "x_auto_response_suppress"),
    ],
)
def test_it_recognises_automatic_reply_headers(headers, rule):
    verdict = message_classify(message(Subject="Re: open relay", **headers))
    assert (verdict.kind, verdict.rule) == ("auto_reply", rule)


@pytest.mark.parametrize("value", ["", "no", "False"])
def test_an_autoreply_header_without_a_yes_claims_nothing(value):
    # froide's test_mail_05: a person's answer stamped "X-Autoreply:" (empty).
    verdict = message_classify(message(Subject="Ihr Anliegen", X_Autoreply=value))
    assert verdict.kind == "reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Case 1970/1234 - Acknowledgement of receipt",
        "Acknowledgment of your message [#12345]",
        "Empfangsbestätigung: Ihre Nachricht",
        "Eingangsbestätigung [Ticket#2024]",
        "Accusé de réception de votre message",
        "Acuse de recibo: relé abierto",
        "Conferma di ricezione",
        "Ontvangstbevestiging van uw melding",
    ],
)
def test_an_automatic_acknowledgement_is_an_auto_reply(subject):
    verdict = message_classify(message(Subject=subject))
    assert (verdict.kind, verdict.rule) == ("auto_reply", "autoreply_subject")


@pytest.mark.parametrize(
    "sender",
    [
        "no_reply@agency.example",
        "noreply@isp.example",
        "Do Not Reply <do-not-reply@isp.example>",
        '"Case system" <automated-notifications@nomail.agency.example>',
        "tickets@noreply.isp.example",
    ],
)
def test_a_message_from_a_no_reply_address_is_automatic_even_from_the_null_sender(sender):
    msg = message(
        "Vielen Dank für Ihre Nachricht. Wir bearbeiten sie so schnell wie möglich.\n",
        From=sender,
        Return_Path="<>",
        Subject="Ihre Nachricht an uns",
    )
    verdict = message_classify(msg, VERP)
    assert (verdict.kind, verdict.rule) == ("auto_reply", "noreply_sender")


def test_a_bounce_from_a_no_reply_address_is_still_a_bounce():
    body = "Delivery to the following recipient failed permanently:\n\n  abuse@isp.example\n"
    body += "550 5.1.1 The email account that you tried to reach does not exist.\n"
    msg = message(body, From="no-reply@gw.isp.example", Subject="Delivery failure")
    verdict = message_classify(msg, VERP)
    assert (verdict.kind, verdict.severity, verdict.failed) == (
        "bounce",
        "hard",
        ["abuse@isp.example"],
    )


def test_auto_submitted_no_is_a_person():
    verdict = message_classify(message(Subject="Re: open relay", Auto_Submitted="no"))
    assert verdict.kind == "reply"


def test_a_persons_reply_to_the_verp_address_stays_a_reply():
    msg = message(Subject="Re: open relay", In_Reply_To="<l1@ftc.example>")
    assert message_classify(msg, VERP).kind == "reply"


def test_anything_else_to_the_verp_address_is_a_bounce_of_unknown_severity():
    msg = message("Your mail could not be handled.\n", From="sysadmin@gw.isp.example")
    verdict = message_classify(msg, VERP)
    assert (verdict.kind, verdict.severity, verdict.failed) == ("bounce", "unknown", [])


def test_a_text_bounce_from_a_gateway_address_names_the_failed_recipient_not_the_sender():
    body = (
        "A message sent by <relay@ftc.example> could not be delivered.\n"
        "The following address(es) failed:\n\n"
        "  abuse@isp.example\n"
        "    SMTP error from remote mail server after RCPT TO:<abuse@isp.example>:\n"
        "    550 5.1.1 User unknown\n"
        "Message-ID: <abc.123@mx.isp.example>\n"
    )
    msg = message(body, From="mail-daemon@gw.isp.example", Subject="Delivery failure")
    verdict = message_classify(msg, Context(ours=frozenset({"relay@ftc.example"})))
    assert (verdict.kind, verdict.severity, verdict.status) == ("bounce", "hard", "5.1.1")
    assert verdict.failed == ["abuse@isp.example"]


def test_a_warning_without_a_code_is_soft():
    body = (
        "This is a warning only; you do not need to resend your message.\n"
        "Delivery to the following recipient has been delayed:\n\n    noc@isp.example\n"
    )
    verdict = message_classify(message(body, From="MAILER-DAEMON@mx.example", Subject="Delayed"))
    assert (verdict.kind, verdict.severity, verdict.failed) == (
        "bounce",
        "soft",
        ["noc@isp.example"],
    )


def dsn(action: str, status: str, report_type: str = "delivery-status") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: bounces+abcdefgh12@ftc.example\r\n"
        "Subject: Delivery Status Notification\r\nMessage-ID: <dsn.1@mx.example>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nReport.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        "Final-Recipient: rfc822; one@isp.example\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n\r\n"
        "Final-Recipient: rfc822; two@isp.example\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n\r\n--b--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("action", "status", "kind", "severity"),
    [
        ("failed", "5.1.1", "bounce", "hard"),
        ("failed", "4.4.7", "bounce", "soft"),  # the code decides first
        ("delayed", "4.4.1", "bounce", "soft"),
        ("delayed", "", "bounce", "soft"),  # then the action
        ("failed", "", "bounce", "hard"),
        ("delivered", "2.0.0", "delivery_report", ""),
        ("relayed", "2.1.5", "delivery_report", ""),
        ("expanded", "2.0.0", "delivery_report", ""),
    ],
)
def test_a_dsn_is_decided_by_status_then_action(action, status, kind, severity):
    parsed = mail_parse(dsn(action, status))
    assert (parsed.kind, parsed.severity) == (kind, severity)
    if kind == "bounce":
        assert parsed.failed == ["one@isp.example", "two@isp.example"]
        assert parsed.rule == "rfc3464_dsn"


def test_a_delay_never_counts_as_hard():
    parsed = mail_parse(dsn("delayed", "4.2.2"))
    assert not parsed.hard and parsed.temporary == ["one@isp.example", "two@isp.example"]


def test_an_mdn_is_a_read_receipt_not_an_answer():
    raw = (
        b"From: abuse@isp.example\r\nSubject: Read: Open relay\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="m"\r\n'
        b"\r\n--m\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n"
        b"--m\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; abuse@isp.example\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--m--\r\n"
    )
    parsed = mail_parse(raw)
    assert (parsed.kind, parsed.rule) == ("read_receipt", "rfc8098_mdn")


def test_an_outlook_read_notice_without_mdn_parts_is_a_read_receipt():
    msg = message("Your message was read on Monday.\n", Subject="Read: Open relay")
    assert message_classify(msg).kind == "read_receipt"


def test_a_read_subject_from_the_null_sender_is_a_receipt_whatever_its_body():
    # Outlook's receipts inside an organisation are TNEF "winmail.dat" with no
    # readable text; RFC 8098 makes every MDN come from the null sender.
    msg = message("eJ8+IhsNAQaQCAAEAAAAAAABAAEAAQeQBgAIAAAA\n", Subject="Read: PhD tema")
    msg["Return-Path"] = "<>"
    assert (message_classify(msg).kind, message_classify(msg).rule) == (
        "read_receipt",
        "subject_read",
    )


def test_a_persons_read_subject_with_a_long_answer_is_still_a_reply():
    body = "I have read the report on the open relay and we are fixing it.\n" * 80
    msg = message(body, Subject="Read: Open relay")
    msg["Return-Path"] = "<abuse@isp.example>"
    assert message_classify(msg).kind == "reply"


def test_a_challenge_response_system_is_not_a_bounce_or_an_answer():
    body = "I use a spam filter. Please verify that you are a human by clicking the link.\n"
    assert message_classify(message(body, Subject="Please confirm")).kind == ("challenge_response")


def test_the_optout_address_is_an_opt_out():
    assert message_classify(message(), Context(to_optout=True)).kind == "opt_out"


def test_no_headers_at_all_is_unparsable():
    assert message_classify(message_from_bytes(b"\x00\x01junk")).kind == "unparsable"


KINDS = {
    "bounce",
    "delivery_report",
    "read_receipt",
    "auto_reply",
    "challenge_response",
    "opt_out",
    "reply",
    "unparsable",
}


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_any_bytes_get_exactly_one_kind_and_never_raise(raw):
    parsed = mail_parse(raw, envelope_recipients=("bounces+abcdefgh12@ftc.example",))
    assert parsed.kind in KINDS
    assert (parsed.severity != "") == (parsed.kind == "bounce")
    assert "\x00" not in parsed.body
