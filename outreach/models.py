"""The core domain: agencies, their people, campaigns, hosts, networks,
contacts and the responses that come back.

The evidence stages keep their own models: feeds, listings and probes in
``probes``; letters in ``letters``. A relay's path reads
Listing → Host → Probe → Network/Contact → Letter → Response.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outreach.iputil import ip_key, network_keys
from outreach.scoping import ScopedQuerySet
from outreach.validators import normalise_email, validate_country_codes, validate_language


class AgencyQuerySet(ScopedQuerySet):
    agency_lookups = ("id",)
    campaign_lookups = ("led_campaigns", "partner_campaigns")


class Agency(models.Model):
    """A government agency taking part in a campaign (lead or partner)."""

    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=32, unique=True, help_text=_("Short code, e.g. ftc."))
    country = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2."))
    default_language = models.CharField(max_length=10, default="en")
    postal_address = models.TextField(blank=True)
    signature = models.TextField(blank=True, help_text=_("Signature block printed on letters."))
    contact_email = models.EmailField(blank=True)
    reply_domain = models.CharField(
        max_length=253, blank=True, help_text=_("Domain for reply and bounce addresses.")
    )
    instructions_url = models.URLField(blank=True)
    jurisdiction = models.JSONField(
        default=list,
        blank=True,
        help_text=_('ISO country codes this agency writes to, e.g. ["US"].'),
        validators=[validate_country_codes],
    )
    logo = models.FileField(upload_to="agencies/", blank=True)
    is_active = models.BooleanField(default=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.country = self.country.upper()
        self.jurisdiction = [code.upper() for code in self.jurisdiction or []]
        validate_language(self.default_language)


class MembershipQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("agency__led_campaigns", "agency__partner_campaigns")


class Membership(models.Model):
    """A user's role in one agency."""

    class Role(models.TextChoices):
        INVESTIGATOR = "investigator", _("Investigator (lead agency, sees all)")
        COORDINATOR = "coordinator", _("Coordinator (approves and sends)")
        VIEWER = "viewer", _("Viewer (read only)")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="membership_user_agency_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency.code} ({self.role})"


class CampaignQuerySet(ScopedQuerySet):
    agency_lookups = ("lead_agency", "partners")
    campaign_lookups = ("",)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    lead_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="led_campaigns")
    partners = models.ManyToManyField(Agency, blank=True, related_name="partner_campaigns")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    instructions_url = models.URLField(
        blank=True, help_text=_("Step-by-step instructions for owners, linked from letters.")
    )
    remediation_deadline = models.DateField(null=True, blank=True)
    hosts = models.ManyToManyField("Host", blank=True, related_name="campaigns")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def agencies(self) -> models.QuerySet[Agency]:
        """The lead agency and the partners, the lead first."""
        ids = [self.lead_agency_id, *self.partners.values_list("id", flat=True)]
        return Agency.objects.filter(id__in=ids).order_by(
            models.Case(models.When(id=self.lead_agency_id, then=0), default=1), "name"
        )


class NetworkQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("hosts__campaigns",)

    def containing(self, ip: str) -> NetworkQuerySet:
        """Networks holding this address, the most specific first."""
        key = ip_key(ip)
        return self.filter(range_start__lte=key, range_end__gte=key).order_by("-range_start")


class Network(models.Model):
    """A registry network block and its owner, as RDAP answered for it."""

    cidr = models.CharField(max_length=49, unique=True)
    # Fixed-width hex keys of the first and last address (see outreach.iputil).
    range_start = models.CharField(max_length=32, editable=False, db_index=True)
    range_end = models.CharField(max_length=32, editable=False)
    registry = models.CharField(max_length=16, blank=True)
    handle = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=2, blank=True, db_index=True)
    asn = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    as_name = models.CharField(max_length=255, blank=True)
    abuse_emails = models.JSONField(default=list, blank=True)
    postal_address = models.TextField(blank=True)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="networks"
    )
    fetched_at = models.DateTimeField(null=True, blank=True)
    raw_rdap = models.JSONField(null=True, blank=True)
    # The contacts the answer named, best first: [{"email", "rule",
    # "confidence"}]. A hard bounce moves the hosts to the next one.
    contact_candidates = models.JSONField(default=list, blank=True)

    objects = NetworkQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["range_start", "range_end"], name="network_range_idx")]

    def __str__(self) -> str:
        return self.cidr

    def save(self, *args: object, **kwargs: object) -> None:
        self.range_start, self.range_end = network_keys(self.cidr)
        super().save(*args, **kwargs)


class ContactQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("letters__campaign", "hosts__campaigns")

    def contactable(self) -> ContactQuerySet:
        return self.filter(do_not_contact=False)


class Contact(models.Model):
    """Whom to write to: a network's abuse address, normalised and unique."""

    email = models.CharField(max_length=254, unique=True)
    organisation = models.CharField(max_length=255, blank=True)
    language = models.CharField(
        max_length=10, blank=True, help_text=_("Overrides the language chosen by country.")
    )
    country = models.CharField(max_length=2, blank=True)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    do_not_contact = models.BooleanField(default=False, db_index=True)
    do_not_contact_reason = models.CharField(max_length=255, blank=True)
    bounce_score = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(Lower("organisation"), name="contact_org_lower_idx")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: object, **kwargs: object) -> None:
        # Normalise on every save path, not only forms: uniqueness depends on it.
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.email = normalise_email(self.email)
        if self.language:
            validate_language(self.language)


class HostQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("campaigns",)


class Host(models.Model):
    """One IP address under suspicion, and what we know of it now."""

    class Status(models.TextChoices):
        SUSPECTED = "suspected", _("Suspected")
        OPEN_RELAY = "open_relay", _("Open relay")
        NOT_RELAY = "not_relay", _("Not a relay")
        UNREACHABLE = "unreachable", _("Unreachable")
        FIXED = "fixed", _("Fixed")

    ip = models.GenericIPAddressField(unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUSPECTED)
    last_verdict = models.CharField(max_length=16, blank=True)
    last_probed_at = models.DateTimeField(null=True, blank=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    asn = models.PositiveBigIntegerField(null=True, blank=True)
    ptr = models.CharField(max_length=255, blank=True)
    network = models.ForeignKey(
        Network, null=True, blank=True, on_delete=models.SET_NULL, related_name="hosts"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="hosts"
    )
    contact_rule = models.CharField(max_length=32, blank=True)
    contact_confidence = models.FloatField(null=True, blank=True)
    # Indexed through host_agency_status_idx, whose first column it is.
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosts",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = HostQuerySet.as_manager()

    class Meta:
        # Every index costs the importer on a million rows: only what the
        # admin, the probes and the contacts stage filter on. Status queries
        # use the composite indexes' leading columns.
        indexes = [
            models.Index(fields=["agency", "status"], name="host_agency_status_idx"),
            models.Index(fields=["status", "last_probed_at"], name="host_status_probed_idx"),
        ]

    def __str__(self) -> str:
        return self.ip


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

    letter = models.ForeignKey(
        "letters.Letter",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="responses",
        help_text=_("Empty while the message waits in the unmatched queue."),
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.REPLY, db_index=True)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    body = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    outcome = models.CharField(max_length=255, blank=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.received_at:%Y-%m-%d}"

    def clean(self) -> None:
        if self.kind == self.Kind.BOUNCE and self.channel != self.Channel.EMAIL:
            raise ValidationError({"kind": _("Only email can bounce.")})
