"""The recipient page's tokens, limits and the writes its actions make.

A token is ``base64url(HMAC(OUTREACH_RECIPIENT_KEY, secret))`` cut to 32
characters (192 bits). Only the per-token ``secret`` and the SHA-256 of the
token are stored, so the renderer can derive the link again whenever it
prints a letter while the database alone opens no page. A request is matched
by hashing the token it presents, never by an id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from letters import shortcode
from letters.delivery import letter_delivery_confirm
from letters.evidence import NOT_TESTED, inconclusive_label, transcript_excerpt, verdict_label
from letters.models import Letter, RecipientAction, RecipientToken, Response
from letters.responses import response_store
from letters.retests import retests_left
from letters.selectors import letter_hosts_latest
from outreach import security
from outreach.audit import audit_event, audit_update
from outreach.models import Contact, Host
from probes.models import Probe

TOKEN_LENGTH = 32
HMAC_SALT = "outreach.letters.recipient"


# --- Tokens -----------------------------------------------------------------


def token_derive(secret: str) -> str:
    """The raw token for a stored secret (pure: no database)."""
    # Salting the key keeps these MACs apart from any other use of the key.
    key = hashlib.sha256(f"{HMAC_SALT}:{settings.OUTREACH_RECIPIENT_KEY}".encode()).digest()
    mac = hmac.new(key, secret.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:TOKEN_LENGTH]


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def recipient_token_ensure(*, letter: Letter) -> RecipientToken:
    """The letter's usable token, created on first need.

    Rendering a letter calls this, so a letter always prints the same link
    until its token is revoked or expires.
    """
    token = _usable_token(letter.pk)
    if token is not None:
        return token
    with transaction.atomic():
        # Two renders of one letter at once (mail and PDF) must print one link.
        Letter.objects.select_for_update().filter(pk=letter.pk).first()
        return _usable_token(letter.pk) or _token_create(letter)


def _usable_token(letter_id: int) -> RecipientToken | None:
    tokens = RecipientToken.objects.usable().filter(letter_id=letter_id)
    return tokens.order_by("-created_at").first()


def code_for(secret: str) -> str:
    """The short code printed beside the link (grouped, with its check character)."""
    return shortcode.code_derive(secret, settings.OUTREACH_RECIPIENT_KEY)


def code_hash_for(secret: str) -> str:
    return shortcode.code_hash(code_for(secret).replace("-", ""))


def _token_create(letter: Letter) -> RecipientToken:
    secret = secrets.token_hex(32)
    return RecipientToken.objects.create(
        letter=letter,
        secret=secret,
        token_hash=token_hash(token_derive(secret)),
        code_hash=code_hash_for(secret),
        expires_at=timezone.now() + timedelta(days=settings.OUTREACH_RECIPIENT_TOKEN_DAYS),
    )


def recipient_url(*, letter: Letter, create: bool = True) -> str:
    """The absolute link printed in the letter, or "" when no public URL is set."""
    return recipient_link(letter=letter, create=create)[0]


def recipient_link(*, letter: Letter, create: bool = True) -> tuple[str, str, str]:
    """The link, the page where a code is typed, and the code ("" without a public URL).

    ``create=False`` only reads: a letter without a usable token (a draft, as
    links are issued at approval and at sending) gets "" and nothing is written.
    """
    if not settings.OUTREACH_PUBLIC_URL:
        return "", "", ""
    token = recipient_token_ensure(letter=letter) if create else _usable_token(letter.pk)
    if token is None:
        return "", "", ""
    path = reverse("recipient:page", kwargs={"token": token_derive(token.secret)})
    entry = settings.OUTREACH_PUBLIC_URL + reverse("recipient:code")
    return settings.OUTREACH_PUBLIC_URL + path, entry, code_for(token.secret)


def recipient_code_find(typed: str) -> RecipientToken | None:
    """The usable token whose code was typed, or None. A typo never reaches here."""
    compact = shortcode.code_normalise(typed)
    if compact is None:
        return None
    return RecipientToken.objects.usable().filter(code_hash=shortcode.code_hash(compact)).first()


def recipient_token_find(raw: str) -> RecipientToken | None:
    """The usable token a visitor presented, or None (unknown, expired, revoked)."""
    if len(raw) != TOKEN_LENGTH:
        return None
    return (
        RecipientToken.objects.usable()
        .select_related("letter__agency", "letter__campaign", "letter__contact")
        .filter(token_hash=token_hash(raw))
        .first()
    )


def recipient_token_revoke(*, letter_id: int) -> int:
    """Revokes every token of a letter; the next render issues a new link."""
    tokens = RecipientToken.objects.filter(letter_id=letter_id, revoked_at__isnull=True)
    return tokens.update(revoked_at=timezone.now())


def recipient_token_viewed(*, token: RecipientToken) -> None:
    now = timezone.now()
    RecipientToken.objects.filter(pk=token.pk).update(
        view_count=F("view_count") + 1, last_viewed_at=now
    )
    RecipientToken.objects.filter(pk=token.pk, first_viewed_at__isnull=True).update(
        first_viewed_at=now
    )
    # Only the letter carries this link: a visit proves it arrived.
    letter_delivery_confirm(letter_id=token.letter_id, evidence="a visit to the recipient page")


# --- Clients and limits -----------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The visitor's address as the lockout sees it, or "" when it is not one.

    Checked because it is stored in an inet column: a forged
    X-Forwarded-For must not turn an answer into a database error.
    """
    try:
        return str(ipaddress.ip_address(security.client_ip(request)))
    except ValueError:
        return ""


def _limit_key(scope: str, key: str) -> str:
    # Hashed so that neither a token nor an address is stored in the cache.
    return f"{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def limit_reached(*, scope: str, key: str, limit: int) -> bool:
    """Whether the window's count is already at the limit (counts nothing)."""
    return caches["recipient"].get(_limit_key(scope, key), 0) >= limit


def limit_hit(*, scope: str, key: str, limit: int, window: int = 3600) -> bool:
    """Counts one hit in a fixed window; True once the limit is passed.

    ``add`` then ``incr`` is atomic on Redis and on the memory cache, so
    parallel requests cannot slip under the limit together.
    """
    cache = caches["recipient"]
    name = _limit_key(scope, key)
    cache.add(name, 0, timeout=window)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window)
        count = 1
    return count > limit


# --- Actions ----------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """Who did it, as far as the audit can tell."""

    token: RecipientToken
    ip: str = ""
    user_agent: str = ""


def _audit(
    visitor: Visitor,
    action: str,
    *,
    response: Response | None = None,
    detail: dict | None = None,
) -> RecipientAction:
    # Also in the shared audit log, where each agency reads its own part.
    audit_event(actor=None, obj=visitor.token.letter, event=f"recipient {action}")
    return RecipientAction.objects.create(
        letter_id=visitor.token.letter_id,
        token=visitor.token,
        action=action,
        client_ip=visitor.ip or None,
        user_agent=visitor.user_agent[:255],
        response=response,
        detail=detail or {},
    )


def _web_response(
    visitor: Visitor, *, kind: str, subject: str, body: str, outcome: str = "recipient page"
) -> Response:
    # An answer on the page proves the letter arrived, like a reply by email.
    return response_store(
        Response(
            letter_id=visitor.token.letter_id,
            channel=Response.Channel.WEB,
            kind=kind,
            subject=subject,
            body=body,
            outcome=outcome,
        ),
        note="answered on the recipient page",
    )


@transaction.atomic
def recipient_answer(*, visitor: Visitor, message: str) -> Response:
    """A free-text answer from the page: a web Response on the letter."""
    response = _web_response(
        visitor, kind=Response.Kind.REPLY, subject="Answer from the recipient page", body=message
    )
    _audit(visitor, RecipientAction.Action.ANSWER, response=response)
    return response


@transaction.atomic
def recipient_fixed_claim(*, visitor: Visitor, message: str = "") -> bool:
    """Records "we fixed it" and queues a re-probe of the letter's hosts.

    The re-probe goes through ``letters.remediation`` (issue 7), which also
    updates the letter's outcome.

    Returns whether a re-test was queued: at most
    OUTREACH_RECIPIENT_RETESTS_PER_DAY per letter, counted in the audit
    (locked on the letter so parallel clicks cannot pass the limit).
    """
    letter = Letter.objects.select_for_update().get(pk=visitor.token.letter_id)
    response = _web_response(
        visitor, kind=Response.Kind.FIXED_CLAIM, subject="Fixed, says the recipient", body=message
    )
    _audit(visitor, RecipientAction.Action.FIXED_CLAIM, response=response)
    hosts = letter.hosts.count()
    if not hosts or retests_left(letter_id=letter.pk) <= 0:
        _audit(visitor, RecipientAction.Action.RETEST_REFUSED)
        return False
    _audit(visitor, RecipientAction.Action.RETEST, detail={"hosts": hosts})
    _retest_enqueue(letter.pk)
    return True


def _retest_enqueue(letter_id: int) -> None:
    # The remediation stage re-probes the letter's hosts once this
    # transaction commits and then derives the letter's outcome, the same
    # path as a fixed-claim that arrives by email.
    from letters.tasks_remediation import fixed_claim_remediate

    fixed_claim_remediate(letter_id=letter_id)


@transaction.atomic
def recipient_dispute(
    *, visitor: Visitor, reason: str, message: str = "", better_contact: str = ""
) -> Response:
    """ "Not our network" or "wrong contact": a dispute for investigators."""
    lines = [f"Reason: {reason}"]
    if better_contact:
        lines.append(f"Better contact: {better_contact}")
    if message:
        lines += ["", message]
    # The outcome flags it: an investigator must check the network's owner.
    response = _web_response(
        visitor,
        kind=Response.Kind.DISPUTE,
        subject=f"Dispute: {reason}",
        body="\n".join(lines),
        outcome="to investigate",
    )
    _audit(
        visitor,
        RecipientAction.Action.DISPUTE,
        response=response,
        detail={"reason": reason, "better_contact": better_contact},
    )
    return response


@transaction.atomic
def recipient_opt_out(*, visitor: Visitor, reason: str) -> Response:
    """Sets do-not-contact on the letter's contact, with the given reason."""
    contact_id = visitor.token.letter.contact_id
    audit_update(
        actor=None,
        queryset=Contact.objects.filter(pk=contact_id),
        event="opt_out",
        note="recipient page",
        do_not_contact=True,
        do_not_contact_reason=f"Recipient page: {reason}"[:255],
    )
    response = _web_response(
        visitor, kind=Response.Kind.OPT_OUT, subject="Opt-out from the recipient page", body=reason
    )
    _audit(visitor, RecipientAction.Action.OPT_OUT, response=response)
    return response


# --- What the page shows ----------------------------------------------------

HOSTS_SHOWN = 200


@dataclass(frozen=True)
class PageHost:
    ip: str
    verdict: str
    probed_at: datetime | None
    tests_passed: int
    excerpt: str
    # The probe whose whole transcript the "full transcript" link opens.
    probe_id: int | None = None


def recipient_evidence(*, letter: Letter) -> tuple[list[PageHost], int]:
    """Each of the letter's hosts with its latest probe, and how many hosts in all."""
    rows, total = letter_hosts_latest(letter, limit=HOSTS_SHOWN)
    return [_page_host(host, probe) for host, probe in rows], total


def _page_host(host: Host, probe: Probe | None) -> PageHost:
    if probe is None:
        return PageHost(host.ip, str(NOT_TESTED), None, 0, "")
    label = verdict_label(probe.verdict, status=host.status)
    if host.retest_inconclusive:
        # The probe shown is the proof of relaying (letters.selectors).
        when = (host.last_probed_at or probe.finished_at or probe.started_at).strftime("%Y-%m-%d")
        label = inconclusive_label(verdict=host.last_verdict, when=when)
    return PageHost(
        ip=host.ip,
        verdict=label,
        probed_at=probe.finished_at or probe.started_at,
        tests_passed=len(probe.tests_passed or []),
        excerpt=transcript_excerpt(probe.transcript, probe.tests_passed or []),
        probe_id=probe.pk,
    )


def recipient_transcript(*, letter: Letter, probe_id: int) -> str | None:
    """The whole transcript of one probe of this letter's hosts, or None."""
    probe = Probe.objects.filter(pk=probe_id, host__letters=letter).only("transcript").first()
    return None if probe is None else probe.transcript


def retest_pending(*, letter_id: int) -> bool:
    """A re-test was queued after the newest probe of the letter's hosts."""
    queued = (
        RecipientAction.objects.filter(letter_id=letter_id, action=RecipientAction.Action.RETEST)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if queued is None:
        return False
    return not Probe.objects.filter(host__letters=letter_id, started_at__gte=queued).exists()
