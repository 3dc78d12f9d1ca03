"""Letters: one per (campaign, contact), listing that contact's relays."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outreach.scoping import ScopedQuerySet


def new_reply_token() -> str:
    # 128 bits, URL- and local-part-safe: it travels in relay+TOKEN@domain.
    return secrets.token_hex(16)


class LetterQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)


class Letter(models.Model):
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
        "outreach.Campaign", on_delete=models.CASCADE, related_name="letters"
    )
    agency = models.ForeignKey(
        "outreach.Agency",
        on_delete=models.PROTECT,
        related_name="letters",
        help_text=_("The signing agency."),
    )
    contact = models.ForeignKey(
        "outreach.Contact", on_delete=models.PROTECT, related_name="letters"
    )
    hosts = models.ManyToManyField("outreach.Host", related_name="letters")
    kind = models.CharField(max_length=32, default="open_relay")
    language = models.CharField(max_length=10, default="en")
    language_reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    message_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reply_token = models.CharField(max_length=64, unique=True, default=new_reply_token)
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)
    # The outbox (letters/outbox.py): who claimed the row, how often it was
    # tried, when it may be tried again and why the last try failed.
    claim_token = models.CharField(max_length=32, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
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


class SmarthostQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)


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
        "outreach.Agency", on_delete=models.CASCADE, related_name="smarthost"
    )
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=587)
    security = models.CharField(max_length=8, choices=Security.choices, default=Security.STARTTLS)
    username = models.CharField(max_length=254, blank=True)
    password_env = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Name of the environment variable with the password."),
    )
    connections = models.PositiveSmallIntegerField(
        default=16, help_text=_("Parallel SMTP connections, each reused for many messages.")
    )
    is_active = models.BooleanField(default=True)

    objects = SmarthostQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class MailboxQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)


class Mailbox(models.Model):
    """An agency's IMAP mailbox for replies and bounces, polled over TLS."""

    agency = models.ForeignKey(
        "outreach.Agency", on_delete=models.CASCADE, related_name="mailboxes"
    )
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    username = models.CharField(max_length=254)
    password_env = models.CharField(
        max_length=64, help_text=_("Name of the environment variable with the password.")
    )
    folder = models.CharField(max_length=200, default="INBOX")
    is_active = models.BooleanField(default=True)
    polled_at = models.DateTimeField(null=True, blank=True)

    objects = MailboxQuerySet.as_manager()

    class Meta:
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"
