"""Letters: one per (campaign, contact), listing that contact's relays, and
the responses that come back about them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outreach.scoping import ScopedQuerySet
from outreach.validators import language_choices


def new_reply_token() -> str:
    # 128 bits, URL- and local-part-safe: it travels in relay+TOKEN@domain.
    return secrets.token_hex(16)


class LetterQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("campaign",)


class Letter(models.Model):
    class Outcome(models.TextChoices):
        FIXED = "fixed", _("Fixed")
        PARTLY_FIXED = "partly_fixed", _("Partly fixed")
        NOT_FIXED = "not_fixed", _("Not fixed")
        UNREACHABLE = "unreachable", _("Unreachable")
        UNKNOWN = "unknown", _("Unknown")
        DELIVERY_UNKNOWN = "delivery_unknown", _("Delivery unknown")
        FALLBACK_CONTACT_HAS_LETTER = (
            "fallback_contact_has_letter",
            _("Fallback contact already has a letter"),
        )

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        SENDING = "sending", _("Sending")
        EXPORTED = "exported", _("Exported")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    campaign = models.ForeignKey(
        "outreach.Campaign",
        on_delete=models.CASCADE,
        related_name="letters",
        verbose_name=_("campaign"),
    )
    agency = models.ForeignKey(
        "outreach.Agency",
        on_delete=models.PROTECT,
        related_name="letters",
        help_text=_("The signing agency."),
        verbose_name=_("agency"),
    )
    contact = models.ForeignKey(
        "outreach.Contact",
        on_delete=models.PROTECT,
        related_name="letters",
        verbose_name=_("contact"),
    )
    hosts = models.ManyToManyField("outreach.Host", related_name="letters", verbose_name=_("hosts"))
    # One template set per kind (templates/letters/<kind>/); its label is what
    # the admin shows.
    kind = models.CharField(
        _("kind"),
        max_length=32,
        choices=[("open_relay", _("Open relay notice"))],
        default="open_relay",
    )
    language = models.CharField(
        _("language"), max_length=10, default="en", choices=language_choices
    )
    language_reason = models.CharField(_("why this language"), max_length=64, blank=True)
    # Agency texts the letter could not have in its language: which agency,
    # the language wanted and the one used ("" = the agency's own name).
    text_fallbacks = models.JSONField(_("text fallbacks"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    message_id = models.CharField(
        _("Message-ID"), max_length=255, unique=True, null=True, blank=True
    )
    reply_token = models.CharField(
        _("reply token"), max_length=64, unique=True, default=new_reply_token
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=64, blank=True, choices=Outcome.choices)
    # The outbox (letters/outbox.py): who claimed the row, how often it was
    # tried, when it may be tried again and why the last try failed.
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True, db_index=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    # Rendered once (letters.rendered): the email bodies and the PDF, stored
    # content-addressed by SHA-256 (letters.blobs); empty until rendered.
    content_sha256 = models.CharField(_("content SHA-256"), max_length=64, blank=True)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    rendered_at = models.DateTimeField(_("rendered"), null=True, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["-created_at"]
        permissions = [
            ("approve_letter", "Can approve letters"),
            ("send_letter", "Can send or export letters"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact", "kind"], name="letter_campaign_contact_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "agency", "status"], name="letter_camp_agency_idx")
        ]

    def __str__(self) -> str:
        return f"{self.campaign.slug}/{self.pk} → {self.contact}"


class ResponseQuerySet(ScopedQuerySet):
    agency_lookups = ("letter__agency",)
    campaign_lookups = ("letter__campaign",)

    def unmatched(self) -> ResponseQuerySet:
        return self.filter(letter__isnull=True)


class Response(models.Model):
    """Anything that came back about a letter: reply, bounce, call, fix."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        POST = "post", _("Post")
        WEB = "web", _("Web")

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        BOUNCE = "bounce", _("Bounce")
        AUTO_REPLY = "auto_reply", _("Auto-reply")
        FIXED_CLAIM = "fixed_claim", _("Claims fixed")
        DISPUTE = "dispute", _("Dispute")
        OPT_OUT = "opt_out", _("Opt-out")
        QUESTION = "question", _("Question")
        # What letters.classify recognises besides answers and bounces: none
        # of these ever marks a letter answered.
        DELIVERY_REPORT = "delivery_report", _("Delivery report")
        READ_RECEIPT = "read_receipt", _("Read receipt")
        CHALLENGE = "challenge", _("Challenge-response")
        UNPARSABLE = "unparsable", _("Unparsable")

    class Severity(models.TextChoices):
        HARD = "hard", _("Hard")
        SOFT = "soft", _("Soft")
        UNKNOWN = "unknown", _("Unknown")

    letter = models.ForeignKey(
        Letter,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="responses",
        help_text=_("Empty while the message waits in the unmatched queue."),
        verbose_name=_("letter"),
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.REPLY, db_index=True
    )
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True, db_index=True)
    body = models.TextField(_("body"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("handled by"),
    )
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)
    # --- inbound classification (letters.classify) ---
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, blank=True)
    rule = models.CharField(
        _("rule"), max_length=64, blank=True, help_text=_("The rule that decided the kind.")
    )
    failed_recipients = models.JSONField(_("failed recipients"), default=list, blank=True)
    raw = models.BinaryField(
        _("raw message"), null=True, blank=True, help_text=_("Kept for unparsable mail.")
    )
    inbox = models.CharField(_("mailbox"), max_length=64, blank=True, default="")
    identity = models.CharField(_("message identity"), max_length=128, blank=True, default="")

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-received_at"]
        constraints = [
            # One row per message per mailbox, even with two workers racing.
            models.UniqueConstraint(
                fields=["inbox", "identity"],
                condition=~models.Q(identity=""),
                name="response_once_per_inbox",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.received_at:%Y-%m-%d}"

    def clean(self) -> None:
        if self.kind == self.Kind.BOUNCE and self.channel != self.Channel.EMAIL:
            raise ValidationError({"kind": _("Only email can bounce.")})


class SentMessageQuerySet(ScopedQuerySet):
    agency_lookups = ("letter__agency",)


class SentMessage(models.Model):
    """The exact bytes of a message handed to the mail server: evidence.

    Written once, never changed. ``accepted_at`` is when the server answered
    250 to the end of DATA; it is empty when that answer was lost (delivery
    unknown). The bytes live in the blob store under ``sha256``.
    """

    letter = models.ForeignKey(
        Letter, on_delete=models.PROTECT, related_name="sent_messages", verbose_name=_("letter")
    )
    message_id = models.CharField(_("Message-ID"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    objects = SentMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("sent message")
        verbose_name_plural = _("sent messages")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.sha256[:12]})"


class RecipientTokenQuerySet(ScopedQuerySet):
    agency_lookups = ("letter__agency",)
    campaign_lookups = ("letter__campaign",)

    def usable(self) -> RecipientTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class RecipientToken(models.Model):
    """The key to one letter's public page.

    The raw token is never stored: it is an HMAC of ``secret`` under a server
    key (see ``letters.recipient``), so the renderer can print the link again
    at any time while a copy of the database alone opens no page.
    """

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="recipient_tokens", verbose_name=_("letter")
    )
    secret = models.CharField(_("secret"), max_length=64, editable=False)
    token_hash = models.CharField(_("link hash"), max_length=64, unique=True, editable=False)
    # SHA-256 of the short code printed beside the link (letters.shortcode).
    code_hash = models.CharField(  # noqa: DJ001 - unique, so NULL until derived
        _("short code hash"),
        max_length=64,
        unique=True,
        null=True,
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    first_viewed_at = models.DateTimeField(_("first viewed"), null=True, blank=True)
    last_viewed_at = models.DateTimeField(_("last viewed"), null=True, blank=True)
    view_count = models.PositiveIntegerField(_("views"), default=0)

    objects = RecipientTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("recipient link")
        verbose_name_plural = _("recipient links")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"page of letter {self.letter_id}"


class RecipientActionQuerySet(ScopedQuerySet):
    agency_lookups = ("letter__agency",)
    campaign_lookups = ("letter__campaign",)


class RecipientAction(models.Model):
    """The audit trail of what a recipient did on the page."""

    class Action(models.TextChoices):
        ANSWER = "answer", _("Answered")
        FIXED_CLAIM = "fixed_claim", _("Said it is fixed")
        RETEST = "retest", _("Re-test queued")
        RETEST_REFUSED = "retest_refused", _("Re-test refused (limit)")
        DISPUTE = "dispute", _("Disputed")
        OPT_OUT = "opt_out", _("Opted out")

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="recipient_actions", verbose_name=_("letter")
    )
    token = models.ForeignKey(
        RecipientToken,
        null=True,
        on_delete=models.SET_NULL,
        related_name="actions",
        verbose_name=_("recipient link"),
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    client_ip = models.GenericIPAddressField(_("client IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)
    response = models.ForeignKey(
        Response,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("response"),
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = RecipientActionQuerySet.as_manager()

    class Meta:
        verbose_name = _("recipient action")
        verbose_name_plural = _("recipient actions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["letter", "action", "created_at"], name="recipient_action_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on letter {self.letter_id}"


class SmarthostQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("agency__led_campaigns", "agency__partner_campaigns")


class Smarthost(models.Model):
    """The mail server an agency sends its letters through.

    The password never lives in the database: ``password_env`` names the
    environment variable that holds it.
    """

    class Security(models.TextChoices):
        NONE = "none", _("Plain (lab only)")
        STARTTLS = "starttls", _("STARTTLS")
        TLS = "tls", _("Implicit TLS")

    agency = models.OneToOneField(
        "outreach.Agency",
        on_delete=models.CASCADE,
        related_name="smarthost",
        verbose_name=_("agency"),
    )
    host = models.CharField(_("server"), max_length=253)
    port = models.PositiveIntegerField(_("port"), default=587)
    security = models.CharField(
        _("security"), max_length=8, choices=Security.choices, default=Security.STARTTLS
    )
    username = models.CharField(_("user name"), max_length=254, blank=True)
    password_env = models.CharField(
        _("password variable"),
        max_length=64,
        blank=True,
        help_text=_("Name of the environment variable with the password."),
    )
    connections = models.PositiveSmallIntegerField(
        _("connections"),
        default=16,
        help_text=_("Parallel SMTP connections, each reused for many messages."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = SmarthostQuerySet.as_manager()

    class Meta:
        verbose_name = _("smarthost")
        verbose_name_plural = _("smarthosts")

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class MailboxQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("agency__led_campaigns", "agency__partner_campaigns")


class Mailbox(models.Model):
    """An agency's IMAP mailbox for replies and bounces, polled over TLS."""

    agency = models.ForeignKey(
        "outreach.Agency",
        on_delete=models.CASCADE,
        related_name="mailboxes",
        verbose_name=_("agency"),
    )
    host = models.CharField(_("server"), max_length=253)
    port = models.PositiveIntegerField(_("port"), default=993)
    username = models.CharField(_("user name"), max_length=254)
    password_env = models.CharField(
        _("password variable"),
        max_length=64,
        help_text=_("Name of the environment variable with the password."),
    )
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    is_active = models.BooleanField(_("active"), default=True)
    polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)

    objects = MailboxQuerySet.as_manager()

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"
