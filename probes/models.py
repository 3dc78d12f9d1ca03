"""Evidence models: which feed listed what, and what the probe found."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outreach.lib import verdict_names
from outreach.scoping import ScopedQuerySet


class FeedQuerySet(ScopedQuerySet):
    # Feeds are the investigators' working material: no agency path.
    agency_lookups = ()


class Feed(models.Model):
    """A blocklist that others publish, and how we read it."""

    name = models.SlugField(_("name"), max_length=64, unique=True)
    url = models.CharField(
        _("URL"), max_length=2000, blank=True, help_text=_("http(s) URL or local path.")
    )
    format = models.CharField(_("format"), max_length=16, default="auto")
    is_host_list = models.BooleanField(
        _("host list"), default=False, help_text=_("Expand small CIDRs in this feed into hosts.")
    )
    description = models.TextField(_("description"), blank=True)
    etag = models.CharField(_("ETag"), max_length=255, blank=True)
    last_modified = models.CharField(_("Last-Modified"), max_length=64, blank=True)
    last_imported_at = models.DateTimeField(_("last imported"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("feed")
        verbose_name_plural = _("feeds")
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

    feed = models.ForeignKey(
        Feed, on_delete=models.CASCADE, related_name="listings", verbose_name=_("feed")
    )
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
        verbose_name=_("host"),
    )
    cidr = models.CharField(
        _("CIDR"), max_length=49, blank=True, help_text=_("Set when the feed listed a network.")
    )
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    removed_at = models.DateTimeField(
        _("removed"), null=True, blank=True, help_text=_("When a re-import no longer listed it.")
    )
    reason = models.CharField(
        _("reason"), max_length=255, blank=True, help_text=_("The feed's own category.")
    )
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
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

    host = models.ForeignKey(
        "outreach.Host", on_delete=models.CASCADE, related_name="probes", verbose_name=_("host")
    )
    port = models.PositiveIntegerField(_("port"), default=25)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    verdict = models.CharField(
        _("verdict"),
        max_length=16,
        choices=verdict_names.VERDICT_CHOICES,
        blank=True,
        db_index=True,
    )
    tests_passed = models.JSONField(_("tests passed"), default=list, blank=True)
    starttls = models.BooleanField(_("STARTTLS"), null=True, blank=True)
    banner = models.CharField(_("banner"), max_length=1000, blank=True)
    transcript = models.TextField(_("transcript"), blank=True)
    error = models.TextField(_("error"), blank=True)
    dns = models.JSONField(
        _("DNS"),
        default=dict,
        blank=True,
        help_text=_("PTR name and DNSBL listings at probe time."),
    )

    objects = ProbeQuerySet.as_manager()

    class Meta:
        verbose_name = _("probe")
        verbose_name_plural = _("probes")
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


# --- Registry bulk data (probes.registry_dump) ---------------------------------


class CidrField(models.CharField):
    """PostgreSQL ``cidr`` (GiST ``inet_ops`` indexed); text elsewhere."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 49)
        super().__init__(*args, **kwargs)

    def db_type(self, connection: object) -> str:
        if connection.vendor == "postgresql":  # type: ignore[attr-defined]
            return "cidr"
        return super().db_type(connection)

    def from_db_value(self, value: object, expression: object, connection: object) -> object:
        # psycopg returns an ipaddress network for cidr: keep the text form.
        return None if value is None else str(value)


class RegistryDataset(models.Model):
    """One import of one registry's dump: a version, swapped in atomically."""

    class Status(models.TextChoices):
        LOADING = "loading", _("loading")
        ACTIVE = "active", _("active")
        SUPERSEDED = "superseded", _("superseded")

    registry = models.CharField(_("registry"), max_length=16)
    serial = models.CharField(_("serial"), max_length=64, help_text=_("Dump date or serial."))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.LOADING
    )
    files = models.JSONField(_("files"), default=list)
    figures = models.JSONField(_("figures"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        verbose_name = _("registry dataset")
        verbose_name_plural = _("registry datasets")
        constraints = [
            models.UniqueConstraint(
                fields=["registry"],
                condition=models.Q(status="active"),
                name="registry_dataset_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.registry} {self.serial} ({self.status})"


class RegistryPrefix(models.Model):
    """One CIDR of a network object of a dump, with its own abuse contact."""

    dataset = models.ForeignKey(
        RegistryDataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    prefix = CidrField(_("prefix"))
    range_start = models.CharField(_("range start"), max_length=32)
    range_end = models.CharField(_("range end"), max_length=32)
    handle = models.CharField(_("registry handle"), max_length=100)
    netname = models.CharField(_("network name"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    abuse_email = models.CharField(_("abuse address"), max_length=254, blank=True)
    rule = models.CharField(_("rule"), max_length=32, blank=True)
    refused = models.CharField(_("refused because"), max_length=255, blank=True)
    registry_block = models.BooleanField(_("registry block"), default=False)

    class Meta:
        verbose_name = _("registry prefix")
        verbose_name_plural = _("registry prefixes")
        indexes = [
            models.Index(fields=["dataset", "range_start"], name="registry_prefix_range_idx")
        ]

    def __str__(self) -> str:
        return self.prefix


class ContactDisputeQuerySet(ScopedQuerySet):
    agency_lookups = ("network__agency",)

    def open(self) -> ContactDisputeQuerySet:
        return self.filter(status=ContactDispute.Status.OPEN)


class ContactDispute(models.Model):
    """Sources disagree on a network's contact: a review item for investigators.

    The letter goes to the best candidate meanwhile; an investigator may
    choose another (``probes.disputes.contact_dispute_resolve``, audited).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    network = models.ForeignKey(
        "outreach.Network", on_delete=models.CASCADE, related_name="+", verbose_name=_("network")
    )
    ip = models.GenericIPAddressField(
        _("IP address"), help_text=_("The host whose sources disagreed.")
    )
    # [{"email", "source", "rule", "data_date"}], the best candidate first.
    candidates = models.JSONField(_("candidates"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    chosen_email = models.CharField(_("chosen address"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    objects = ContactDisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact in dispute")
        verbose_name_plural = _("contacts in dispute")
        constraints = [
            models.UniqueConstraint(
                fields=["network"],
                condition=models.Q(status="open"),
                name="contact_dispute_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.network} ({self.status})"
