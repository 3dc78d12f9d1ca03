"""Evidence models: which feed listed what, and what the probe found."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outreach.scoping import ScopedQuerySet


class FeedQuerySet(ScopedQuerySet):
    # Feeds are the investigators' working material: no agency path.
    agency_lookups = ()


class Feed(models.Model):
    """A blocklist that others publish, and how we read it."""

    name = models.SlugField(max_length=64, unique=True)
    url = models.CharField(max_length=2000, blank=True, help_text=_("http(s) URL or local path."))
    format = models.CharField(max_length=16, default="auto")
    is_host_list = models.BooleanField(
        default=False, help_text=_("Expand small CIDRs in this feed into hosts.")
    )
    description = models.TextField(blank=True)
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    last_imported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListingQuerySet(ScopedQuerySet):
    agency_lookups = ("host__agency",)
    campaign_lookups = ("host__campaigns",)

    def current(self) -> ListingQuerySet:
        return self.filter(removed_at__isnull=True)


class Listing(models.Model):
    """One feed listing one address (or one network), with its evidence."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="listings")
    # No database constraint: the importer writes hosts and their listings in
    # one transaction, and checking 1M deferred constraints at commit took
    # longer than the insert. Deletes still cascade through the ORM.
    host = models.ForeignKey(
        "outreach.Host",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="listings",
        db_constraint=False,
    )
    cidr = models.CharField(
        max_length=49, blank=True, help_text=_("Set when the feed listed a network.")
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a re-import no longer listed it.")
    )
    reason = models.CharField(max_length=255, blank=True, help_text=_("The feed's own category."))
    evidence = models.JSONField(default=dict, blank=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "host"],
                condition=models.Q(host__isnull=False),
                name="listing_feed_host_uniq",
            ),
            models.UniqueConstraint(
                fields=["feed", "cidr"],
                condition=models.Q(host__isnull=True),
                name="listing_feed_cidr_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feed}: {self.host or self.cidr}"


class ProbeQuerySet(ScopedQuerySet):
    agency_lookups = ("host__agency",)
    campaign_lookups = ("host__campaigns",)


class Probe(models.Model):
    """One SMTP relay test of one host: the campaign's evidence."""

    class Verdict(models.TextChoices):
        OPEN_RELAY = "open_relay", _("Open relay")
        NOT_RELAY = "not_relay", _("Not a relay")
        AUTH_REQUIRED = "auth_required", _("Authentication required")
        TLS_FAILED = "tls_failed", _("TLS failed")
        TEMP_FAILURE = "temp_failure", _("Temporary failure")
        NO_SMTP = "no_smtp", _("Not SMTP")
        REFUSED = "refused", _("Connection refused")
        TIMEOUT = "timeout", _("Timed out")
        PROTOCOL_ERROR = "protocol_error", _("Protocol error")

    host = models.ForeignKey("outreach.Host", on_delete=models.CASCADE, related_name="probes")
    port = models.PositiveIntegerField(default=25)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True, db_index=True)
    tests_passed = models.JSONField(default=list, blank=True)
    starttls = models.BooleanField(null=True, blank=True)
    banner = models.CharField(max_length=1000, blank=True)
    transcript = models.TextField(blank=True)
    error = models.TextField(blank=True)
    dns = models.JSONField(
        default=dict, blank=True, help_text=_("PTR name and DNSBL listings at probe time.")
    )

    objects = ProbeQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["host", "-started_at"], name="probe_host_started_idx")]

    def __str__(self) -> str:
        return f"{self.host} {self.verdict or 'pending'}"

    def passed_exchange(self) -> str:
        """The transcript lines of the first test that passed, for quoting in letters."""
        from probes.smtp import transcript_of_test

        return (
            transcript_of_test(self.transcript, self.tests_passed[0]) if self.tests_passed else ""
        )
