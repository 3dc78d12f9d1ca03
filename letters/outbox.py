"""Send approved letters by email, each exactly once.

SMTP is at-least-once: a worker that dies between the server's 250 and our
write cannot know whether the letter went. So a letter moves
APPROVED → SENDING (claimed, Message-ID stored, committed) → SENT | FAILED |
APPROVED-again (retry later), and no row lock is held while SMTP talks:

* ``letters_claim`` takes a small batch with ``SELECT … FOR UPDATE SKIP
  LOCKED`` on PostgreSQL; on SQLite, which has one writer at a time, a
  compare-and-set UPDATE on the status does the same job.
* the batch is sent through the agency's transport (``letters.transport``);
* ``letters_record`` writes each result, but only while the row still carries
  this claim's token, so a late or repeated result changes nothing.

A batch whose worker died stays SENDING. ``outbox_recover`` never resends it
blindly: past ``OUTBOX_CLAIM_TIMEOUT`` it becomes FAILED with
outcome ``delivery_unknown``. A message whose end of DATA went out but whose
reply never came (connection lost, timeout, reset) gets the same state at
once: the server may have taken it. Neither is retried automatically; a
bounce, reply or page visit settles it (``letters.delivery``), or a person
resends it as a new message or marks it sent (admin actions).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import get_args

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from letters.approval import recipient_link_issue
from letters.blobs import blob_put
from letters.delivery import DELIVERY_UNKNOWN
from letters.message import (
    OutgoingLetter,
    UnsafeHeaderError,
    bounce_address,
    message_build,
    message_id_new,
)
from letters.models import Letter, SentMessage, Smarthost
from letters.rendered import letter_rendering
from letters.routable import AddressProblem, sender_problems
from letters.transport import DjangoTransport, Envelope, Result, SmtpPool, SmtpSettings, State
from outreach.audit import audit_update
from outreach.lib.bucket import bucket_take
from outreach.models import Agency

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LetterContent:
    subject: str
    text: str
    html: str
    language: str
    pdf: bytes | None = None


ContentFn = Callable[[Letter], LetterContent]


class OutboxError(Exception):
    """Sending cannot start (nothing to render with, bad configuration)."""


@dataclass
class SendReport:
    """What one send run did: the letters it claimed, and how each transaction ended."""

    claimed: int = 0
    # Transactions by how they ended: "sent", "retry", "failed", "unknown", "deferred".
    outcomes: Counter[State] = field(default_factory=Counter)
    preview: str = ""
    errors: list[str] = field(default_factory=list)

    def add(self, results: list[Result]) -> None:
        self.outcomes.update(result.state for result in results)

    def figures(self) -> dict[str, int]:
        """Every count by name, the outcomes that did not happen as 0 (``--json``)."""
        return {"claimed": self.claimed} | {s: self.outcomes[s] for s in get_args(State)}


def rendered_content(letter: Letter) -> LetterContent:
    """The letter as it was rendered once and stored (letters.rendered); a
    letter not rendered yet is rendered and stored now, never twice."""
    recipient_link_issue(letter=letter)  # sending is where a link may be (re)issued
    stored = letter_rendering(letter)
    pdf = stored.pdf if settings.OUTBOX_ATTACH_PDF else None
    return LetterContent(stored.subject, stored.text, stored.html, stored.language, pdf)


# --- claiming -------------------------------------------------------------


def letters_sendable(*, campaign_id: int, agency_id: int | None = None) -> QuerySet[Letter]:
    now = timezone.now()
    queryset = Letter.objects.filter(
        campaign_id=campaign_id, status=Letter.Status.APPROVED, contact__do_not_contact=False
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if agency_id is not None:
        queryset = queryset.filter(agency_id=agency_id)
    return queryset.order_by("id")


def letters_claim(*, campaign_id: int, agency_id: int | None = None, limit: int) -> str:
    """Claim up to ``limit`` sendable letters; returns this claim's token.

    The claimed rows are SENDING, carry the token and their Message-ID, and
    are committed before any SMTP traffic.
    """
    token = secrets.token_hex(16)
    candidates = letters_sendable(campaign_id=campaign_id, agency_id=agency_id)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("id", flat=True)[:limit])
        # The status test makes this a compare-and-set where SKIP LOCKED is
        # missing (SQLite): a row another worker took in between is skipped.
        Letter.objects.filter(id__in=ids, status=Letter.Status.APPROVED).update(
            status=Letter.Status.SENDING,
            claim_token=token,
            claimed_at=timezone.now(),
            send_attempts=F("send_attempts") + 1,
        )
        _message_ids_assign(token)
    return token


def _message_ids_assign(token: str) -> None:
    # Stored before the send and kept across retries: a retried letter is the
    # same message, and replies quote this id. One UPDATE for the batch.
    letters = list(
        Letter.objects.filter(claim_token=token, message_id__isnull=True).select_related("agency")
    )
    for letter in letters:
        domain = letter.agency.reply_domain or "outreach.localdomain"
        letter.message_id = message_id_new(letter.reply_token, domain)
    Letter.objects.bulk_update(letters, ["message_id"])


# --- recording ------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 5 min, 10, 20, … capped at 12 h."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(base, 12 * 3600) * random.uniform(0.8, 1.2))


def letters_record(
    *, token: str, results: list[Result], messages: dict[int, bytes] | None = None
) -> None:
    """Write each result, only onto rows this claim still holds.

    ``messages`` are the bytes handed to the server, by letter id: those the
    server took, or may have taken, are archived (``SentMessage``).
    """
    now = timezone.now()
    mine = Letter.objects.filter(claim_token=token, status=Letter.Status.SENDING)
    hashes = _archive_blobs(results, messages or {})
    with transaction.atomic():
        _archive_rows(mine, results, messages or {}, hashes)
        sent = [r.key for r in results if r.state == "sent"]
        mine.filter(id__in=sent).update(
            status=Letter.Status.SENT, sent_at=now, last_error="", claim_token=""
        )
        for result in results:
            if result.state != "sent":
                _record_one(mine.filter(id=result.key), result, now)


ARCHIVED = ("sent", "unknown")


def _archive_blobs(results: list[Result], messages: dict[int, bytes]) -> dict[int, str]:
    # Before the transaction: files are content-addressed, so a blob whose row
    # never commits is harmless and a retry stores nothing twice.
    return {
        r.key: blob_put(messages[r.key])
        for r in results
        if r.state in ARCHIVED and r.key in messages
    }


def _archive_rows(
    mine: QuerySet[Letter],
    results: list[Result],
    messages: dict[int, bytes],
    hashes: dict[int, str],
) -> None:
    held = dict(mine.filter(id__in=list(hashes)).values_list("id", "message_id"))
    SentMessage.objects.bulk_create(
        [
            SentMessage(
                letter_id=r.key,
                message_id=held[r.key] or "",
                sha256=hashes[r.key],
                size=len(messages[r.key]),
                accepted_at=_accepted(r),
            )
            for r in results
            if r.key in hashes and r.key in held
        ]
    )


def _accepted(result: Result) -> datetime | None:
    if result.state != "sent" or not result.accepted_at:
        return None
    return datetime.fromtimestamp(result.accepted_at, tz=UTC)


def _record_one(row: QuerySet[Letter], result: Result, now: datetime) -> None:
    if result.state == "failed":
        row.update(status=Letter.Status.FAILED, last_error=result.detail, claim_token="")
        return
    if result.state == "unknown":
        # Maybe delivered: a retry could deliver it twice (RFC 1047).
        row.update(
            status=Letter.Status.FAILED,
            outcome=DELIVERY_UNKNOWN,
            last_error=result.detail[:500],
            claim_token="",
        )
        return
    attempts = row.values_list("send_attempts", flat=True).first() or 0
    if result.state == "deferred":
        # A rate limit is not the letter's fault: it does not count.
        row.update(
            status=Letter.Status.APPROVED,
            claim_token="",
            send_attempts=F("send_attempts") - 1,
            next_attempt_at=now + timedelta(seconds=result.retry_after),
        )
    elif attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        row.update(
            status=Letter.Status.FAILED,
            last_error=f"gave up after {attempts} attempts: {result.detail}"[:500],
            claim_token="",
        )
    else:
        row.update(
            status=Letter.Status.APPROVED,
            claim_token="",
            last_error=result.detail[:500],
            next_attempt_at=now + retry_delay(attempts),
        )


def letters_release(*, token: str) -> int:
    """Give back a claim before anything was sent: the attempt does not count."""
    return Letter.objects.filter(claim_token=token, status=Letter.Status.SENDING).update(
        status=Letter.Status.APPROVED, claim_token="", send_attempts=F("send_attempts") - 1
    )


def outbox_recover(*, older_than: timedelta | None = None) -> int:
    """Close claims whose worker died: FAILED, delivery unknown, never resent."""
    age = timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT) if older_than is None else older_than
    stale = Letter.objects.filter(status=Letter.Status.SENDING, claimed_at__lt=timezone.now() - age)
    return stale.update(
        status=Letter.Status.FAILED,
        outcome=DELIVERY_UNKNOWN,
        last_error="the sending worker stopped mid-batch: check the smarthost log before resending",
        claim_token="",
    )


def letters_requeue_unknown(*, letter_ids: list[int], actor: object = None) -> int:
    """A person checked the smarthost log: send these again, as new messages.

    The resend gets a new Message-ID (assigned when it is claimed), so a
    first copy that did arrive and the resend are two distinct messages; the
    audit entry keeps the old id.
    """
    unknown = Letter.objects.filter(
        id__in=letter_ids, status=Letter.Status.FAILED, outcome=DELIVERY_UNKNOWN
    )
    return audit_update(
        actor=actor,
        queryset=unknown,
        event="resend as a new message",
        status=Letter.Status.APPROVED,
        outcome="",
        next_attempt_at=None,
        message_id=None,
    )


# --- building -------------------------------------------------------------


def outgoing_letter(letter: Letter, content: LetterContent) -> OutgoingLetter:
    agency = letter.agency
    domain = agency.reply_domain or "outreach.localdomain"
    return OutgoingLetter(
        message_id=letter.message_id or message_id_new(letter.reply_token, domain),
        token=letter.reply_token,
        agency_name=agency.name,
        agency_address=agency.contact_email or settings.DEFAULT_FROM_EMAIL,
        reply_domain=domain,
        recipient=letter.contact.email,
        recipient_name=letter.contact.organisation,
        subject=content.subject,
        text=content.text,
        html=content.html,
        language=content.language,
        pdf=content.pdf,
        pdf_filename=f"letter-{letter.campaign.slug}-{letter.pk}.pdf",
        # No web opt-out page exists yet: the mailto address is the opt-out.
        opt_out_url="",
    )


def letter_message(letter: Letter, content: LetterContent, *, test_recipient: str = "") -> bytes:
    outgoing = outgoing_letter(letter, content)
    if test_recipient:
        # A test copy never reuses the stored Message-ID: the real send later
        # must still be the first message with that id.
        fresh = message_id_new(letter.reply_token, outgoing.reply_domain)
        outgoing = dataclasses.replace(outgoing, message_id=fresh)
    return message_build(outgoing, recipient_override=test_recipient)


def letter_envelope(
    letter: Letter, content: LetterContent, *, test_recipient: str = ""
) -> Envelope:
    message = letter_message(letter, content, test_recipient=test_recipient)
    domain = letter.agency.reply_domain or "outreach.localdomain"
    return Envelope(
        key=letter.pk,
        sender=bounce_address(letter.reply_token, domain),
        recipient=test_recipient or letter.contact.email,
        data=message,
    )


def _envelopes(
    letters: list[Letter], content: ContentFn, test_recipient: str
) -> tuple[list[Envelope], list[Result]]:
    envelopes, refused = [], []
    for letter in letters:
        try:
            envelopes.append(
                letter_envelope(letter, content(letter), test_recipient=test_recipient)
            )
        except UnsafeHeaderError as error:
            refused.append(Result(letter.pk, "failed", f"refused to build: {error}"))
        except OutboxError:
            raise  # nothing can be rendered: stop the run, not the letter
        except Exception as error:
            # One letter that cannot be rendered must not hold up the batch.
            logger.exception("letter %s could not be rendered", letter.pk)
            detail = f"could not render: {type(error).__name__}: {error}"[:500]
            refused.append(Result(letter.pk, "failed", detail))
    return envelopes, refused


# --- transports -----------------------------------------------------------


# The smarthost row's connection fields that SmtpSettings takes as they are.
_SMARTHOST_FIELDS = ("host", "port", "security", "username", "connections")


def smarthost_settings(smarthost: Smarthost) -> SmtpSettings:
    password = os.environ.get(smarthost.password_env, "") if smarthost.password_env else ""
    server = SmtpSettings(
        **{name: getattr(smarthost, name) for name in _SMARTHOST_FIELDS}, password=password
    )
    return _outbox_wide(server)


def _outbox_wide(server: SmtpSettings) -> SmtpSettings:
    """The server's settings with what the outbox sets for every server alike."""
    return dataclasses.replace(
        server,
        timeout=float(settings.EMAIL_TIMEOUT),
        local_hostname=settings.OUTBOX_LOCAL_HOSTNAME,
        validate_certs=settings.OUTBOX_VALIDATE_CERTS,
    )


@contextmanager
def agency_transport(agency_id: int) -> Iterator[SmtpPool | DjangoTransport]:
    """The agency's smarthost pool, else the global EMAIL_HOST, else Django's backend."""
    smarthost = Smarthost.objects.filter(agency_id=agency_id, is_active=True).first()
    if smarthost is not None:
        transport = SmtpPool(smarthost_settings(smarthost))
    elif settings.EMAIL_HOST:
        transport = SmtpPool(_global_settings())
    else:
        transport = DjangoTransport()
    with transport:
        yield transport


def _global_settings() -> SmtpSettings:
    security = "tls" if settings.EMAIL_USE_SSL else "starttls" if settings.EMAIL_USE_TLS else "none"
    server = SmtpSettings(
        host=settings.EMAIL_HOST,
        port=settings.EMAIL_PORT,
        security=security,
        username=settings.EMAIL_HOST_USER,
        password=settings.EMAIL_HOST_PASSWORD,
        connections=settings.OUTBOX_CONNECTIONS,
    )
    return _outbox_wide(server)


# --- the whole run --------------------------------------------------------


def outbox_send(
    *,
    campaign_id: int,
    agency_id: int | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    content: ContentFn | None = None,
    progress: Callable[[SendReport], None] | None = None,
) -> SendReport:
    """Send a campaign's approved letters (one agency's, or every agency's).

    ``dry_run`` builds the messages and returns a preview of the first, and
    sends nothing. With ``OUTREACH_TEST_RECIPIENT`` set (test mode) every
    message goes to that one address and the letters stay APPROVED.
    """
    content = content or rendered_content
    report = SendReport()
    test_recipient = settings.OUTREACH_TEST_RECIPIENT
    if dry_run or test_recipient:
        return _send_unclaimed(campaign_id, agency_id, limit, dry_run, content, test_recipient)
    agency_ids = _agency_ids(campaign_id, agency_id)
    senders_check(agency_ids=agency_ids)
    for current in agency_ids:
        if limit is not None and report.claimed >= limit:
            break
        with agency_transport(current) as transport:
            # The limit is the whole send's: the shared report counts every
            # agency's claims, and each batch takes what is left of it.
            job = _AgencyJob(campaign_id, current, limit, transport, content, report, progress)
            _send_agency(job)
    return report


def agency_sender_problems(agency: Agency) -> list[AddressProblem]:
    return sender_problems(
        contact_email=agency.contact_email,
        reply_domain=agency.reply_domain,
        default_from=settings.DEFAULT_FROM_EMAIL,
        lab=settings.LAB_MODE,
    )


def senders_check(*, agency_ids: list[int]) -> None:
    """Stop, before any connection, if an agency's answers could never come back."""
    refusals = []
    for agency in Agency.objects.filter(id__in=agency_ids).order_by("code"):
        for problem in agency_sender_problems(agency):
            refusal = gettext("agency %(name)s (%(code)s): %(problem)s")
            names = {"name": agency.name, "code": agency.code}
            refusals.append(refusal % {**names, "problem": problem})
    if refusals:
        raise OutboxError(gettext("cannot send: %(refusals)s") % {"refusals": "; ".join(refusals)})


def _agency_ids(campaign_id: int, agency_id: int | None) -> list[int]:
    if agency_id is not None:
        return [agency_id]
    return list(
        letters_sendable(campaign_id=campaign_id)
        .order_by("agency_id")
        .values_list("agency_id", flat=True)
        .distinct()
    )


@dataclass
class _InFlight:
    token: str
    future: Future[list[Result]]
    refused: list[Result]
    messages: dict[int, bytes]


@dataclass
class _AgencyJob:
    """One agency's letters going out through one transport, counted in ``report``."""

    campaign_id: int
    agency_id: int
    limit: int | None  # for the whole send, across agencies (see outbox_send)
    transport: SmtpPool | DjangoTransport
    content: ContentFn
    report: SendReport
    progress: Callable[[SendReport], None] | None


def _send_agency(job: _AgencyJob) -> None:
    """Claim and build the next batch while the previous one is on the wire.

    At most two batches are claimed at any time, so a dead worker leaves at
    most two batches whose delivery is unknown.
    """
    pending: _InFlight | None = None
    while True:
        current = _batch_start(job)
        if pending is not None:
            _batch_finish(pending, job.report, job.progress)
        if current is None:
            return
        pending = current


def _batch_start(job: _AgencyJob) -> _InFlight | None:
    size = settings.OUTBOX_BATCH_SIZE
    if job.limit is not None:
        size = min(size, job.limit - job.report.claimed)
    if size <= 0:
        return None
    token = letters_claim(campaign_id=job.campaign_id, agency_id=job.agency_id, limit=size)
    letters = list(_claimed(token))
    if not letters:
        return None
    job.report.claimed += len(letters)
    try:
        envelopes, refused = _envelopes(letters, job.content, "")
        envelopes, deferred = _rate_split(envelopes)
    except BaseException:
        letters_release(token=token)  # nothing of this batch has left yet
        raise
    messages = {envelope.key: envelope.data for envelope in envelopes}
    return _InFlight(token, job.transport.submit(envelopes), refused + deferred, messages)


def _rate_split(envelopes: list[Envelope]) -> tuple[list[Envelope], list[Result]]:
    """Hold back messages whose recipient domain has used up its rate.

    The buckets live in Redis when REDIS_URL is set (outreach.lib.bucket), so the
    limit holds across every worker; in the embedded mode, per process.
    """
    per_minute = settings.OUTBOX_DOMAIN_RATE_PER_MINUTE
    if per_minute <= 0:
        return envelopes, []
    allowed, deferred = [], []
    for envelope in envelopes:
        domain = envelope.recipient.rpartition("@")[2].lower()
        wait = bucket_take(f"mail-domain:{domain}", capacity=per_minute, per_second=per_minute / 60)
        if wait:
            deferred.append(Result(envelope.key, "deferred", "domain rate limit", wait))
        else:
            allowed.append(envelope)
    return allowed, deferred


def _batch_finish(
    batch: _InFlight, report: SendReport, progress: Callable[[SendReport], None] | None
) -> None:
    results = batch.refused + batch.future.result()
    letters_record(token=batch.token, results=results, messages=batch.messages)
    report.add(results)
    if progress:
        progress(report)


def _claimed(token: str) -> QuerySet[Letter]:
    return Letter.objects.filter(claim_token=token).select_related("agency", "contact", "campaign")


def _send_unclaimed(
    campaign_id: int,
    agency_id: int | None,
    limit: int | None,
    dry_run: bool,
    content: ContentFn,
    test_recipient: str,
) -> SendReport:
    report = SendReport()
    queryset = letters_sendable(campaign_id=campaign_id, agency_id=agency_id).select_related(
        "agency", "contact", "campaign"
    )
    letters = list(queryset[: limit or settings.OUTBOX_BATCH_SIZE])
    senders_check(agency_ids=sorted({letter.agency_id for letter in letters}))
    envelopes, refused = _envelopes(letters, content, test_recipient)
    report.add(refused)
    report.errors = [r.detail for r in refused]
    if envelopes:
        report.preview = envelopes[0].data.decode("utf-8", "replace")
    if dry_run or not envelopes:
        return report
    with agency_transport(letters[0].agency_id) as transport:
        report.add(transport.send_many(envelopes))
    return report


def letter_preview(*, letter_id: int, content: ContentFn | None = None) -> str:
    """The first message as it would leave, headers and all."""
    letter = Letter.objects.select_related("agency", "contact", "campaign").get(id=letter_id)
    message = letter_message(letter, (content or rendered_content)(letter))
    return message.decode("utf-8", "replace")
