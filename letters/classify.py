# ruff: noqa: RUF001 (out-of-office words in other scripts look like Latin letters)
"""Decide what one incoming message is: pure, no ORM, one decision per message.

Kinds (``Verdict.kind``): ``bounce`` (with a severity: ``hard``, ``soft`` or
``unknown``), ``delivery_report``, ``read_receipt``, ``auto_reply``,
``challenge_response``, ``opt_out``, ``reply`` and ``unparsable``. The rule
that fired is kept (``Verdict.rule``) so an investigator can see why.

The order matters and follows the standards first:

1. RFC 3464 and RFC 8098 reports (``multipart/report`` or a
   ``message/delivery-status`` part anywhere) decide on their own fields.
2. Strong auto-reply marks (an out-of-office subject in many languages,
   ``X-Autoreply``, ``X-Autorespond``) and challenge-response systems.
3. Non-standard bounces: a bounce-looking sender, subject, VERP recipient or
   ``X-Failed-Recipients``, then flufl.bounce and our own text detectors.
4. Weaker automatic marks (RFC 3834 ``Auto-Submitted``, ``Precedence``,
   ``X-Auto-Response-Suppress``): DSNs and Exim bounces carry them too, which
   is why they come after the bounce checks.
5. Opt-out (the opt-out address), then a human reply.

Severity is decided once: status code (5.x.x hard, 4.x.x soft), then DSN
``Action``, then text. A bounce with neither a failed address nor a status
is ``unknown``: recorded, but it scores nothing as hard.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

TEXT_LIMIT = 200_000
_ADDRESS = re.compile(
    r"(?<![\w.+=/-])([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.)+[A-Za-z]{1,63})(?![\w-])"
)
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?:^|[\s:(\[\"'])([245][0-5]\d)(?:[ -]|$)", re.MULTILINE)
_DAEMON_LOCAL = re.compile(
    r"^(mailer[-_]?daemon|mail[-_]?daemon|postmaster|post[-_]master|mail[-_]?delivery|"
    r"mailer|mail[-_]?admin|sysadmin|root|daemon|bounces?|returned|nobody|"
    r"no[-_]?reply|noreply|do[-_]?not[-_]?reply|mail[-_]?router|smtp[-_]?gateway|"
    r"mail[-_]?system|system|administrator|mdaemon|.*-(?:errors?|bounces?|owner|request))$",
    re.IGNORECASE,
)
_NOREPLY_LOCAL = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?response|"
    r"automated[-_.].*|auto[-_.]?(?:reply|responder|notifications?))$",
)
_NOREPLY_LABELS = frozenset({"noreply", "no-reply", "nomail", "donotreply"})
_DAEMON_NAME = re.compile(
    r"mail delivery|mailer[- ]daemon|postmaster|delivery (?:status|subsystem|system)|"
    r"mail administrator|system administrator|mail system",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|not (?:be )?delivered|delivery (?:status )?(?:notification|failure|"
    r"failed|problem|report)|failure notice|returned mail|return(?:ed)? to sender|"
    r"mail delivery (?:failed|failure|system)|delivery has failed|could not (?:be )?deliver|"
    r"nondeliverable|non[- ]?delivery|mail system error|rejected|bounced?|"
    r"warning: could not send|delayed mail|delivery delayed|message (?:status|not delivered)|"
    r"unzustellbar|nicht zustellbar|non remis|non recapitabile|no se puede entregar|"
    r"niedoręczon|nedoručiteln|не доставлен|недоставлен|配信不能|送信失敗|退信|"
    r"系统退信|전송 실패|returned mail",
    re.IGNORECASE,
)
_WARNING_TEXT = re.compile(
    r"this is (?:only )?a warning|warning only|has not yet been delivered|"
    r"not yet been delivered|will (?:continue|keep) (?:to )?try|will be retried|"
    r"will retry|still trying|delivery (?:has been |is )?delayed|delayed mail|"
    r"could not send message for past|temporar(?:y|ily) (?:failure|unavailable|deferred)|"
    r"no action is required on your part|retry timeout not exceeded|\(delay\)",
    re.IGNORECASE,
)
_FAILURE_TEXT = re.compile(
    r"unknown|does not exist|not a valid|doesn't exist|no such|not found|invalid|rejected|refused|"
    r"denied|disabled|inactive|not active|deactivated|unavailable|unrouteable|unroutable|"
    r"over ?quota|quota|mailbox (?:is )?full|exceeded|failed|failure|fatal|permanent|"
    r"undeliverable|could not be delivered|couldn't be delivered|not (?:be )?delivered|"
    r"cannot be delivered|can't be delivered|not reachable|could not be reached|"
    r"blocked|blacklist|spam|too large|size limit|not allowed|relay|closed|expired|"
    r"delay|deferred|retry|warning|timed? ?out|rcpt|recipient|delivery|account|"
    r"did not (?:reach|receive)|not accepted|error (?:delivering|sending)|"
    r"(?<![\d-])[45]\d\d(?![\d-])|\b[45]\.\d+\.\d+\b",
    re.IGNORECASE,
)
_ORIGINAL_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}.*(?:original message|copy of (?:the|your) message|message follows|"
    r"undelivered message|returned message|unsent message|message headers? follows?|"
    r"below this line|header of the (?:source|original) mail)|"
    r".{0,60}\boriginal message (?:as received )?(?:is as )?follows?|"
    r"-{3,} ?(?:message|original|returned|enclosed|unsent).*-{3,}|"
    r"the (?:original|undelivered) message (?:follows|headers follow|was received)|"
    r"(?:return-path|received|message-id|from|date|subject|to|x-[\w-]+): .*\n"
    r"(?:return-path|received|message-id|from|date|subject|to|x-[\w-]+): )",
    re.IGNORECASE | re.MULTILINE,
)
_STRONG_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply")
# Subjects of automatic replies, in the 23 letter languages and the usual
# others. Long phrases match anywhere; short, ambiguous words only at the
# start, as a whole subject or before a colon.
_AUTO_PHRASES = [
    # en
    r"automatic reply",
    r"auto[- ]?reply",
    r"auto[- ]?response",
    r"autoresponse",
    r"automated (?:reply|response)",
    r"automatic response",
    r"out of (?:the )?office",
    r"away from (?:the )?office",
    r"on (?:annual )?leave",
    r"on vacation",
    r"vacation (?:reply|message|notice)",
    r"holiday (?:reply|notice)",
    r"absence (?:notice|message|notification)",
    r"i am (?:currently )?(?:out|away)",
    r"i'm (?:currently )?(?:out|away)",
    # Automatic acknowledgements, which abuse desks and authorities send.
    r"acknowledge?ment of (?:receipt|your (?:message|e-?mail|request))",
    r"receipt acknowledge?ment",
    r"empfangsbestätigung",
    r"eingangsbestätigung",
    r"accusé de réception",
    r"acuse de recibo",
    r"conferma di ricezione",
    r"ontvangstbevestiging",
    # fr
    r"réponse automatique",
    r"reponse automatique",
    r"absence du bureau",
    r"message d'absence",
    r"hors du bureau",
    r"en congés?",
    r"je suis absente?",
    # de
    r"automatische antwort",
    r"abwesenheitsnotiz",
    r"abwesenheitsmeldung",
    r"nicht im büro",
    r"außer haus",
    r"ausser haus",
    r"abwesenheit",
    r"im urlaub",
    # es
    r"respuesta automática",
    r"respuesta automatica",
    r"fuera de (?:la )?oficina",
    r"ausencia de la oficina",
    r"de vacaciones",
    r"respuesta de ausencia",
    # it
    r"risposta automatica",
    r"fuori (?:sede|ufficio)",
    r"assente dall'ufficio",
    r"in ferie",
    r"risposta di assenza",
    # pt
    r"resposta automática",
    r"resposta automatica",
    r"fora do escritório",
    r"fora do escritorio",
    r"ausente do escritório",
    r"de férias",
    r"mensagem de ausência",
    # nl
    r"automatisch antwoord",
    r"afwezigheidsbericht",
    r"buiten kantoor",
    r"niet op kantoor",
    r"afwezig",
    r"met vakantie",
    # pl
    r"automatyczna odpowiedź",
    r"odpowiedź automatyczna",
    r"automatyczna odpowiedz",
    r"odpowiedz automatyczna",
    r"nieobecność",
    r"nieobecnosc",
    r"poza biurem",
    r"na urlopie",
    # cs / sk
    r"automatická odpověď",
    r"automaticka odpoved",
    r"mimo kancelář",
    r"nepřítomnost",
    r"automatická odpoveď",
    r"mimo kancelárie",
    # ro
    r"răspuns automat",
    r"raspuns automat",
    r"în afara biroului",
    r"in afara biroului",
    r"absent din birou",
    r"în concediu",
    # ru / uk / bg / sr
    r"автоматический ответ",
    r"автоответ",
    r"вне офиса",
    r"нет на месте",
    r"в отпуске",
    r"автоматична відповідь",
    r"автовідповідь",
    r"поза офісом",
    r"у відпустці",
    r"автоматичен отговор",
    r"аутоматски одговор",
    # el
    r"αυτόματη απάντηση",
    r"αυτοματη απαντηση",
    r"εκτός γραφείου",
    r"εκτος γραφειου",
    # sv / da / no / fi / is
    r"automatiskt svar",
    r"autosvar",
    r"frånvaromeddelande",
    r"inte på kontoret",
    r"automatisk svar",
    r"automatisk besked",
    r"ikke på kontoret",
    r"fraværsmelding",
    r"ikke til stede",
    r"automaattinen vastaus",
    r"poissa toimistolta",
    r"lomalla",
    r"sjálfvirkt svar",
    # tr
    r"otomatik yanıt",
    r"otomatik yanit",
    r"otomatik cevap",
    r"ofis dışında",
    r"ofis disinda",
    r"ofiste değilim",
    r"izindeyim",
    # hu / hr / sl / lt / lv / et
    r"automatikus válasz",
    r"házon kívül",
    r"automatski odgovor",
    r"izvan ureda",
    r"samodejni odgovor",
    r"odsoten",
    r"automatinis atsakymas",
    r"automātiskā atbilde",
    r"automaatne vastus",
    # ar / he / fa / hi
    r"رد تلقائي",
    r"الرد التلقائي",
    r"رد آلي",
    r"خارج المكتب",
    r"תשובה אוטומטית",
    r"מענה אוטומטי",
    r"מחוץ למשרד",
    r"پاسخ خودکار",
    r"خارج از دفتر",
    r"स्वचालित उत्तर",
    r"कार्यालय से बाहर",
    # id / ms / vi / th
    r"balasan otomatis",
    r"balasan automatik",
    r"di luar kantor",
    r"sedang cuti",
    r"trả lời tự động",
    r"tra loi tu dong",
    r"vắng mặt",
    r"không có mặt tại văn phòng",
    r"ตอบกลับอัตโนมัติ",
    r"การตอบกลับอัตโนมัติ",
    r"ไม่อยู่ที่สำนักงาน",
    # ja / zh / ko
    r"自動応答",
    r"自動返信",
    r"自動送信",
    r"不在通知",
    r"不在のお知らせ",
    r"外出中",
    r"自动回复",
    r"自動回覆",
    r"自動回復",
    r"自动答复",
    r"休假",
    r"不在办公室",
    r"不在辦公室",
    r"자동\s?회신",
    r"자동\s?응답",
    r"자동\s?답장",
    r"부재\s?중",
    r"휴가",
]
_AUTO_SUBJECT = re.compile("|".join(_AUTO_PHRASES), re.IGNORECASE)


def _fold(text: str) -> str:
    """Text without its diacritics, case-folded: "Réponse" reads as "reponse"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# Mail systems that cannot encode a subject's accents drop them (Exchange
# wrote Latvian Outlook's "Ārpus biroja atrašanās automātiskā atbilde" as
# "Arpus biroja atrasanas automatiska atbilde"): the same phrases, folded.
_AUTO_SUBJECT_FOLDED = re.compile("|".join(_fold(p) for p in _AUTO_PHRASES))
_AUTO_SHORT = re.compile(
    r"^(?:re:\s*)?(?:absence|absent|away|vacation|holiday|ooo|abwesend|urlaub|ausencia|"
    r"vacaciones|assente|assenza|ausente|ausência|férias|vakantie|urlop|dovolená|concediu|"
    r"absență|отпуск|отсутствую|відпустка|відсутній|απουσία|semester|ferie|fravær|"
    r"frånvarande|loma|tatil|izin|cuti|nghỉ phép|不在|休暇|外出)\s*(?:[:：!\-]|$)",
    re.IGNORECASE,
)
_READ_SUBJECT = re.compile(
    r"^(?:read|lu|gelesen|leído|leido|letto|gelezen|lido|odczytane|odczytano|přečteno|"
    r"прочитано|прочитане|läst|læst|lest|luettu|okundu|citit|đã đọc|已读|已讀|읽음|既読|"
    r"נקרא|مقروءة|διαβάστηκε)\s*[:：]",
    re.IGNORECASE,
)
_CHALLENGE = re.compile(
    r"boxbe|spam ?arrest|choicemail|mailblocks|bluebottle|sender verification|"
    r"verify (?:that )?you(?:'re| are) (?:a )?(?:human|real|person)|"
    r"(?:please )?confirm (?:that )?you(?:'re| are) (?:a )?(?:human|real|person)|"
    r"your message (?:is|has been) (?:pending|held)|pending (?:your )?(?:verification|approval)|"
    r"challenge[- ]response|to (?:complete|ensure) (?:the )?delivery.{0,40}(?:click|verify|"
    r"reply)|added to (?:my|the) (?:guest ?list|approved senders)|verification request|"
    r"spam (?:blocker|filter) (?:requires|has) (?:you|held)|please verify your (?:email|message)",
    re.IGNORECASE,
)
_CHALLENGE_HEADERS = ("x-boxbe", "x-bluebottle", "x-spamarrest", "x-sendio", "x-mailblocks")
_CHALLENGE_DOMAINS = {"boxbe.com", "spamarrest.com", "mailblocks.com", "sendio.com"}
_PRECEDENCE_AUTO = {"bulk", "junk", "list", "auto_reply", "auto-reply"}


@dataclass
class Verdict:
    kind: str
    rule: str
    severity: str = ""  # "hard", "soft" or "unknown" for a bounce; "" otherwise
    failed: list[str] = field(default_factory=list)
    status: str = ""

    @property
    def label(self) -> str:
        if self.kind == "bounce":
            return f"{self.severity} bounce" if self.severity != "unknown" else "bounce"
        return self.kind.replace("_", " ")


@dataclass(frozen=True)
class Context:
    """What the caller knows besides the message itself."""

    to_verp: bool = False  # delivered to one of our bounce (VERP) addresses
    to_optout: bool = False  # delivered to one of our opt-out addresses
    ours: frozenset[str] = frozenset()  # our own addresses: never a failed recipient


def message_classify(message: Message, context: Context | None = None) -> Verdict:
    """One kind for one parsed message. Never raises: failures are ``unparsable``."""
    context = context or Context()
    try:
        return _classify(message, context)
    except Exception as error:  # a hostile message must never stop ingestion
        return Verdict(kind="unparsable", rule=f"error:{type(error).__name__}")


def _classify(message: Message, context: Context) -> Verdict:
    if not message.keys():
        return Verdict(kind="unparsable", rule="no_headers")
    subject = header_text(message, "Subject")
    sender = header_text(message, "From")
    if _challenge_system(message, sender):
        # Boxbe and friends dress their challenge as a DSN: the system decides.
        return Verdict(kind="challenge_response", rule="challenge_system")
    report = _report_verdict(message, context)
    if report is not None:
        return report
    if _READ_SUBJECT.match(subject) and (_null_sender(message) or _has_mdn_marks(message)):
        return Verdict(kind="read_receipt", rule="subject_read")
    strong = _strong_auto_rule(message, subject)
    if strong:
        return Verdict(kind="auto_reply", rule=strong)
    if _is_challenge(message, subject):
        return Verdict(kind="challenge_response", rule="challenge_text")
    bounce = _bounce_verdict(message, context, subject, sender)
    if bounce is not None:
        return bounce
    weak = _weak_auto_rule(message)
    if weak:
        return Verdict(kind="auto_reply", rule=weak)
    if _noreply_sender(sender):
        return Verdict(kind="auto_reply", rule="noreply_sender")
    if context.to_optout:
        return Verdict(kind="opt_out", rule="optout_address")
    if context.to_verp and not _looks_human(message, subject):
        return Verdict(kind="bounce", rule="verp_address", severity="unknown")
    return Verdict(kind="reply", rule="default_human")


# --- RFC 3464 / RFC 8098 reports -------------------------------------------


def _report_verdict(message: Message, context: Context) -> Verdict | None:
    report_type = ""
    if message.get_content_type() == "multipart/report":
        report_type = (message.get_param("report-type") or "").lower()
        if isinstance(report_type, tuple):
            report_type = str(report_type[-1]).lower()
    if report_type == "disposition-notification" or _has_part(
        message, "message/disposition-notification"
    ):
        return Verdict(kind="read_receipt", rule="rfc8098_mdn")
    status_parts = [
        part
        for part in message.walk()
        if part.get_content_type() in {"message/delivery-status", "message/global-delivery-status"}
    ]
    if report_type == "feedback-report" or _has_part(message, "message/feedback-report"):
        return Verdict(kind="auto_reply", rule="arf_feedback_report")
    if status_parts:
        recipients = [fields for part in status_parts for fields in _dsn_recipients(part)]
        rule = "rfc3464_dsn"
    else:
        # DSN fields written into a text part (or a part of a made-up type,
        # or a report whose MIME broke): read them just the same.
        text = _report_text(message)
        if not re.search(r"^\s*final-recipient\s*:", text, re.I | re.M):
            return None
        recipients = _dsn_rows(text)
        rule = "dsn_fields_in_text"
    if not recipients:
        return None
    success = {"delivered", "relayed", "expanded"}
    if all(
        r["action"] in success or (not r["action"] and r["status"].startswith("2"))
        for r in recipients
    ):
        return Verdict(
            kind="delivery_report", rule=f"{rule}_success", status=recipients[0]["status"]
        )
    failed_rows = [
        r for r in recipients if r["action"] not in success and not r["status"].startswith("2")
    ]
    severity, status = _dsn_severity(failed_rows)
    # Final-Recipient is the reporter's own statement: trust it, only never
    # take one of our addresses.
    failed = _unique(
        r["address"] for r in failed_rows if r["address"] and r["address"] not in context.ours
    )
    if not failed:
        failed = _text_failures(message, context)
    return Verdict(kind="bounce", rule=rule, severity=severity, failed=failed, status=status)


def _dsn_recipients(part: Message) -> list[dict[str, str]]:
    """The per-recipient blocks of a delivery-status part, read leniently."""
    return _dsn_rows(_part_text(part))


def _dsn_rows(text: str) -> list[dict[str, str]]:
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
    rows = []
    for block in blocks:
        fields = _dsn_fields(block)
        # Original-Recipient is the address as our MTA gave it (before the
        # far side's aliases): the one to match against the letter.
        address = _dsn_address(fields.get("original-recipient", "")) or _dsn_address(
            fields.get("final-recipient", "")
        )
        if not address and "action" not in fields and "status" not in fields:
            continue
        if not address and "reporting-mta" in fields and "action" not in fields:
            continue
        rows.append(
            {
                "address": address,
                "action": fields.get("action", "").split()[0].lower()
                if fields.get("action")
                else "",
                "status": _status_of(fields.get("status", ""))
                or _status_of(fields.get("diagnostic-code", "")),
                "diagnostic": fields.get("diagnostic-code", ""),
            }
        )
    return rows


def _dsn_fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    last = ""
    for line in block.split("\n"):
        if line[:1] in {" ", "\t"} and last:
            fields[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,40}", name.strip()):
            last = name.strip().lower()
            fields.setdefault(last, value.strip())
    return fields


def _dsn_address(value: str) -> str:
    # "rfc822; user@host", sometimes without the type, sometimes in <>.
    value = value.split(";", 1)[-1].strip().strip("<>").strip()
    match = _ADDRESS.search(value)
    if match:
        return match.group(1).lower()
    found = re.search(r"[^\s<>\"';]+@[^\s<>\"';]+\.[^\s<>\"';]+", value)
    return found.group(0).lower().rstrip(".") if found else ""


def _status_of(text: str) -> str:
    match = _ENHANCED.search(text or "")
    if match:
        return ".".join(match.groups())
    match = _SMTP_CODE.search(text or "")
    return match.group(1) if match else ""


def _dsn_severity(rows: list[dict[str, str]]) -> tuple[str, str]:
    statuses = [r["status"] for r in rows if r["status"]]
    if any(s.startswith("5") for s in statuses):
        return "hard", next(s for s in statuses if s.startswith("5"))
    if statuses and all(s.startswith("4") for s in statuses):
        return "soft", statuses[0]
    actions = {r["action"] for r in rows}
    if "failed" in actions:
        return "hard", ""
    if "delayed" in actions:
        return "soft", ""
    return ("unknown", "") if not any(r["address"] for r in rows) else ("hard", "")


def _has_part(message: Message, content_type: str) -> bool:
    return any(part.get_content_type() == content_type for part in message.walk())


def _null_sender(message: Message) -> bool:
    # RFC 8098 section 2.1: an MDN's envelope sender MUST be null, so a
    # read-receipt subject sent from "<>" is a receipt even when its body
    # cannot be read (Outlook's TNEF "winmail.dat" receipts). Postfix writes
    # the null sender as <MAILER-DAEMON>. A person's "Read: ..." never comes
    # from the null sender.
    return header_text(message, "Return-Path").lower() in {"<>", "<mailer-daemon>"}


def _has_mdn_marks(message: Message) -> bool:
    # Outlook's non-standard receipts: short, and say the message was read.
    body = _report_text(message)[:5000]
    return len(body) < 4000 and bool(
        re.search(r"read|displayed|gelesen|lu |leído|letto", body, re.I)
    )


# --- auto-replies and challenge-response -------------------------------------


def _strong_auto_rule(message: Message, subject: str) -> str:
    if any(_claims(message, name) for name in _STRONG_AUTO_HEADERS):
        return "x_autoreply_header"
    if (
        _AUTO_SUBJECT.search(subject)
        or _AUTO_SHORT.search(subject)
        or _AUTO_SUBJECT_FOLDED.search(_fold(subject))
    ):
        return "autoreply_subject"
    auto = header_text(message, "Auto-Submitted").lower()
    if "vacation" in auto:
        return "rfc3834_vacation"
    return ""


def _claims(message: Message, name: str) -> bool:
    # Only a value claims anything: ZDF's reply system stamps a person's
    # written answer with an empty "X-Autoreply:" (froide's test_mail_05).
    value = header_text(message, name).strip().lower()
    return value not in {"", "no", "false", "0", "off"}


def _noreply_sender(sender: str) -> bool:
    """From a no-reply address: no person can be answered there, so no person wrote it."""
    address = parseaddr(sender)[1].lower()
    local, _at, domain = address.rpartition("@")
    return bool(_NOREPLY_LOCAL.match(local)) or bool(
        _NOREPLY_LABELS.intersection(domain.split("."))
    )


def _weak_auto_rule(message: Message) -> str:
    auto = header_text(message, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return "rfc3834_auto_submitted"
    if message.get("X-Auto-Response-Suppress") is not None:
        # Exchange marks what its automata send so that no other automaton
        # answers. A person's reply through a ticket system that stamps every
        # message this way lands here too; an investigator re-marks it.
        return "x_auto_response_suppress"
    precedence = header_text(message, "Precedence").lower()
    if precedence in _PRECEDENCE_AUTO:
        return f"precedence_{precedence.replace('-', '_')}"
    return ""


def _challenge_system(message: Message, sender: str) -> bool:
    if any(name.lower().startswith(_CHALLENGE_HEADERS) for name in message):
        return True
    domain = parseaddr(sender)[1].rpartition("@")[2].lower()
    return domain in _CHALLENGE_DOMAINS


def _is_challenge(message: Message, subject: str) -> bool:
    return bool(_CHALLENGE.search(subject) or _CHALLENGE.search(_report_text(message)[:4000]))


def _looks_human(message: Message, subject: str) -> bool:
    sender = header_text(message, "From")
    local = parseaddr(sender)[1].partition("@")[0]
    if _DAEMON_LOCAL.match(local) or _DAEMON_NAME.search(sender):
        return False
    return bool(message.get("In-Reply-To") or subject.lower().startswith(("re:", "aw:", "sv:")))


# --- non-standard bounces ---------------------------------------------------


def _bounce_verdict(
    message: Message, context: Context, subject: str, sender: str
) -> Verdict | None:
    failed_header = [
        addr.lower()
        for value in message.get_all("X-Failed-Recipients", [])
        for addr in _ADDRESS.findall(str(value))
    ]
    local = parseaddr(sender)[1].partition("@")[0]
    # An empty From ("<>", as the null reverse-path) is a mail system's.
    daemon = bool(_DAEMON_LOCAL.match(local) or _DAEMON_NAME.search(sender) or not local)
    bounce_subject = bool(_BOUNCE_SUBJECT.search(subject))
    if not (failed_header or daemon or bounce_subject or context.to_verp):
        return None
    temporary, permanent = _flufl(message)
    text_failed = _text_failures(message, context)
    failed = _unique(
        a
        for a in [*failed_header, *permanent, *temporary, *text_failed]
        if _is_candidate(a, context)
    )
    text = _report_text(message)
    status = _status_of(_status_window(text, failed))
    if not failed and not status:
        if not bounce_subject and _noreply_sender(sender):
            return None  # an acknowledgement from no_reply@, even from "<>"
        if (daemon or bounce_subject) and not _looks_human(message, subject):
            if _weak_auto_rule(message) and not daemon and not bounce_subject:
                return None
            return Verdict(kind="bounce", rule=_rule(failed_header, daemon), severity="unknown")
        return None
    if not (daemon or bounce_subject or failed_header) and _weak_auto_rule(message):
        return None  # an auto-reply to the VERP address that merely mentions codes
    severity = _text_severity(status, text, subject, permanent, temporary)
    return Verdict(
        kind="bounce",
        rule=_rule(failed_header, daemon),
        severity=severity,
        failed=failed,
        status=status,
    )


def _rule(failed_header: list[str], daemon: bool) -> str:
    if failed_header:
        return "x_failed_recipients"
    return "bounce_sender" if daemon else "bounce_content"


def _text_severity(
    status: str, text: str, subject: str, permanent: list[str], temporary: list[str]
) -> str:
    if status.startswith("5"):
        return "hard"
    if status.startswith("4"):
        return "soft"
    if _WARNING_TEXT.search(subject) or _WARNING_TEXT.search(text[:20_000]):
        return "soft"
    if temporary and not permanent:
        return "soft"
    return "hard"


def _status_window(text: str, failed: list[str]) -> str:
    """Codes in the report's own words, before the quoted original."""
    head = _before_original(text)
    enhanced = [".".join(m.groups()) for m in _ENHANCED.finditer(head)]
    enhanced = [s for s in enhanced if s[0] in "45"]
    if enhanced:
        return next((s for s in enhanced if s.startswith("5")), enhanced[0])
    codes = [
        m.group(1)
        for line in head.splitlines()
        if _FAILURE_TEXT.search(line) or any(a in line.lower() for a in failed)
        for m in _SMTP_CODE.finditer(line)
        if m.group(1)[0] in "45"
    ]
    return next((c for c in codes if c.startswith("5")), codes[0] if codes else "")


def _flufl(message: Message) -> tuple[list[str], list[str]]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        return [], []
    return _decoded(temporary), _decoded(permanent)


def _decoded(found: object) -> list[str]:
    out = []
    for item in found or ():
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        match = _ADDRESS.search(text)
        if match:
            out.append(match.group(1).lower())
    return out


def _text_failures(message: Message, context: Context) -> list[str]:
    """Failed addresses named in the report's own words (not the quoted original).

    An address counts when its line, or one of the two lines before it, says
    something failed, or when the line holds the address alone (the list
    under "The following addresses had permanent fatal errors").
    """
    head = _before_original(_report_text(message))[:50_000]
    lines = head.splitlines()
    exclude = _excluded(message)
    found = []
    for index, line in enumerate(lines):
        if re.match(
            r"\s*(?:message-id|in-reply-to|references|from|reply-to|sender)\s*:", line, re.I
        ):
            continue
        addresses = [m.group(1) for m in _ADDRESS.finditer(line)]
        if not addresses:
            continue
        context_lines = " ".join(lines[max(0, index - 2) : index + 2])
        alone = re.fullmatch(
            r"[\s\"'<>(),;:*\-]*(?:to:?\s*)?[<\"']?\S+?[>\"']?[\s:,;.)]*(?:\(.*\))?\s*", line
        )
        if not (_FAILURE_TEXT.search(context_lines) or alone):
            continue
        for address in addresses:
            address = re.sub(r"^(?:smtp|rfc822|x400)=|^['\"]+", "", address, flags=re.I)
            if address.lower() in exclude or not _is_candidate(address, context):
                continue
            if _in_message_id(line, address) or _named_as_sender(line, address):
                continue
            found.append(address.lower())
    return _unique(found)


def _named_as_sender(line: str, address: str) -> bool:
    # "A message sent by <x>", "Sorry x.", "from: x": the sender, never a failure.
    before = line.lower().split(address.lower(), 1)[0][-40:]
    # "(generated from x)" and "(expanded from x)" name the recipient instead.
    return bool(
        re.search(
            r"(?:sent by|sorry|(?<!generated )(?<!expanded )\bfrom|sender|return-path)\W*$", before
        )
    )


def _in_message_id(line: str, address: str) -> bool:
    # "<20260101.1234@mx.example>" after "id" or a Message-ID: not a person.
    local = address.partition("@")[0]
    return bool(
        re.search(r"(?:message[- ]?id|\bid)\s*[:=]?\s*<?" + re.escape(address), line, re.I)
        or (len(local) > 24 and re.fullmatch(r"[0-9A-Fa-f.$_-]+", local))
    )


def _excluded(message: Message) -> set[str]:
    """The reporter's own address, the original sender and Message-IDs."""
    out = set()
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        out |= {a.lower() for _, a in getaddresses([header_text(message, name)]) if a}
    for part in message.walk():
        if part.get_content_type() in {"message/rfc822", "text/rfc822-headers"}:
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_msg, Message):
                out |= {a.lower() for _, a in getaddresses([header_text(inner_msg, "From")]) if a}
    for name in ("Message-ID", "In-Reply-To", "References"):
        out |= {m.lower() for m in _ADDRESS.findall(header_text(message, name))}
    return out


def _is_candidate(address: str, context: Context) -> bool:
    address = address.lower()
    local, _, domain = address.partition("@")
    if address in context.ours or not domain or "." not in domain:
        return False
    if re.match(r"^(relay|bounces|optout)\+", local) or re.search(r"bounces?[+=]", local):
        return False  # a VERP address: ours, or the sender's own
    return not _DAEMON_LOCAL.match(local)


def _before_original(text: str) -> str:
    for match in _ORIGINAL_MARKER.finditer(text):
        if match.start() > 40:  # a marker at the very top is the report's own header
            return text[: match.start()]
    return text


# --- reading text leniently -------------------------------------------------


def header_text(message: Message, name: str, limit: int = 2000) -> str:
    """A header's decoded text, or "" when it is missing or cannot be read."""
    try:
        value = message.get(name)
        if value is None:
            return ""
        text = str(value)
        if "=?" in text:
            text = _decoded_words(text)
    except Exception:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return " ".join(text.split())[:limit]


def _decoded_words(text: str) -> str:
    """RFC 2047 encoded-words decoded; broken ones stay as they came."""
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # an unknown charset or a broken encoded-word
        return text


def _part_text(part: Message) -> str:
    if part.is_multipart():
        # message/delivery-status is parsed as a list of header blocks.
        chunks = []
        for sub in part.get_payload():
            if isinstance(sub, Message):
                chunks.append("\n".join(f"{k}: {v}" for k, v in sub.items()))
        return "\n\n".join(chunks)
    text = payload_text(part, TEXT_LIMIT)
    return text if text is not None else str(part.get_payload() or "")[:TEXT_LIMIT]


def payload_text(part: Message, limit: int) -> str | None:
    """A leaf part's first ``limit`` bytes, decoded in the charset it declares
    (Latin-1 when Python knows no such charset); None when it holds no bytes."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[:limit].decode(charset, "replace")
    except LookupError:  # an unknown charset
        return payload[:limit].decode("latin-1")


def _report_text(message: Message) -> str:
    """The text parts a reporter wrote, without the attached original.

    Several rules read it; it is worked out once per message.
    """
    cached = getattr(message, "_outreach_report_text", None)
    if cached is None:
        cached = _report_text_uncached(message)
        message._outreach_report_text = cached
    return cached


def _report_text_uncached(message: Message) -> str:
    chunks, size = [], 0
    stack = [message]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if ctype in {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"}:
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list) and ctype != "message/delivery-status":
                stack[0:0] = [p for p in payload if isinstance(p, Message)]
            continue
        broken = part.get_content_maintype() == "multipart"  # a boundary that never came
        if (
            part.get_content_maintype() != "text"
            and ctype != "message/delivery-status"
            and not broken
        ):
            continue
        text = _part_text(part)
        if part.get_content_subtype() == "html":
            text = re.sub(r"<br\s*/?>|</p>|</div>|</tr>", "\n", text, flags=re.I)
            text = re.sub(r"<[^>]{0,2000}>", " ", text)
            text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")
        chunks.append(text)
        size += len(text)
        if size > TEXT_LIMIT:
            break
    return "\n".join(chunks)[:TEXT_LIMIT]


def _unique(items: object) -> list[str]:
    return list(dict.fromkeys(items))
