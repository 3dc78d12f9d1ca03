"""The core domain: agencies, their people, campaigns, hosts, networks and
contacts.

The evidence stages keep their own models: feeds, listings and probes in
``probes``; letters and the responses that come back in ``letters``. A relay's path reads
Listing → Host → Probe → Network/Contact → Letter → Response.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outreach.lib import verdict_names as verdicts
from outreach.lib.iputil import ip_key, network_keys
from outreach.scoping import ScopedQuerySet
from outreach.validators import (
    language_choices,
    normalise_email,
    validate_country_codes,
    validate_language,
)


class AgencyQuerySet(ScopedQuerySet):
    agency_lookups = ("id",)
    campaign_lookups = ("led_campaigns", "partner_campaigns")


class Agency(models.Model):
    """A government agency taking part in a campaign (lead or partner)."""

    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Short code, e.g. ftc.")
    )
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2."))
    default_language = models.CharField(
        _("default language"), max_length=10, default="en", choices=language_choices
    )
    postal_address = models.TextField(_("postal address"), blank=True)
    signature = models.TextField(
        _("signature"), blank=True, help_text=_("Signature block printed on letters.")
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    reply_domain = models.CharField(
        _("reply domain"),
        max_length=253,
        blank=True,
        help_text=_("Domain for reply and bounce addresses."),
    )
    instructions_url = models.URLField(_("instructions URL"), blank=True)
    jurisdiction = models.JSONField(
        _("jurisdiction"),
        default=list,
        blank=True,
        help_text=_('ISO country codes this agency writes to, e.g. ["US"].'),
        validators=[validate_country_codes],
    )
    logo = models.FileField(_("logo"), upload_to="agencies/", blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        verbose_name = _("agency")
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

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user")
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("agency")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
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

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    lead_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="led_campaigns",
        verbose_name=_("lead agency"),
    )
    partners = models.ManyToManyField(
        Agency, blank=True, related_name="partner_campaigns", verbose_name=_("partner agencies")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.DRAFT
    )
    instructions_url = models.URLField(
        _("instructions URL"),
        blank=True,
        help_text=_("Step-by-step instructions for owners, linked from letters."),
    )
    remediation_deadline = models.DateField(_("remediation deadline"), null=True, blank=True)
    hosts = models.ManyToManyField(
        "Host", blank=True, related_name="campaigns", verbose_name=_("hosts")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def agencies(self) -> models.QuerySet[Agency]:
        """The lead agency and the partners, the lead first."""
        ids = [self.lead_agency_id, *self.partners.values_list("id", flat=True)]
        return Agency.objects.filter(id__in=ids).order_by(
            models.Case(models.When(id=self.lead_agency_id, then=0), default=1), "name"
        )


class AgencyTextQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("agency__led_campaigns", "agency__partner_campaigns")


class AgencyText(models.Model):
    """How an agency is named and introduced in one language.

    Each text is written whole, so that articles, gender and case are right:
    letters never glue a name into a translated sentence.
    """

    class Status(models.TextChoices):
        REVIEWED = "reviewed", _("Reviewed")
        UNCHECKED = "unchecked", _("Machine-unchecked")

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="texts", verbose_name=_("agency")
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, validators=[validate_language]
    )
    name = models.CharField(
        _("name"), max_length=300, help_text=_("The agency's name in this language.")
    )
    introduction = models.TextField(
        _("introduction"),
        blank=True,
        max_length=1000,
        help_text=_("The whole sentence that introduces the agency at the start of a letter."),
    )
    subject = models.CharField(
        _("short subject"),
        max_length=200,
        blank=True,
        help_text=_(
            "How the next sentence names the agency after its introduction, "
            "e.g. “The Commission”. Empty: the name."
        ),
    )
    in_list = models.CharField(
        _("name in a list of partners"),
        max_length=300,
        blank=True,
        help_text=_("The name as a list of partners gives it, with its article. Empty: the name."),
    )
    group = models.SlugField(
        _("group"),
        max_length=32,
        blank=True,
        help_text=_(
            "Partners of one group are named together, e.g. the states' attorneys general."
        ),
    )
    group_phrase = models.CharField(
        _("group phrase"),
        max_length=300,
        blank=True,
        help_text=_("The group's phrase with {members} where its members go."),
    )
    group_member = models.CharField(
        _("as a group member"),
        max_length=200,
        blank=True,
        help_text=_("This agency's part of the group phrase, e.g. “of Arkansas”."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UNCHECKED
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AgencyTextQuerySet.as_manager()

    class Meta:
        ordering = ["agency", "language"]
        verbose_name = _("agency text")
        verbose_name_plural = _("agency texts")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "language"], name="agencytext_agency_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency.code} [{self.language}]"

    def clean(self) -> None:
        if self.group_phrase and "{members}" not in self.group_phrase:
            raise ValidationError({"group_phrase": _("Put {members} where the members go.")})


class PartnerRankQuerySet(ScopedQuerySet):
    agency_lookups = ("campaign__lead_agency", "campaign__partners")
    campaign_lookups = ("campaign",)


class PartnerRank(models.Model):
    """The order in which a campaign's letters name a partner (lower first)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="partner_ranks", verbose_name=_("campaign")
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="+", verbose_name=_("agency")
    )
    rank = models.PositiveIntegerField(_("rank"))

    objects = PartnerRankQuerySet.as_manager()

    class Meta:
        verbose_name_plural = _("partner ranks")
        ordering = ["campaign", "rank"]
        verbose_name = _("partner rank")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "agency"], name="partnerrank_campaign_agency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign.slug}: {self.agency.code} #{self.rank}"


class NetworkQuerySet(ScopedQuerySet):
    agency_lookups = ("agency",)
    campaign_lookups = ("hosts__campaigns",)

    def containing(self, ip: str) -> NetworkQuerySet:
        """Networks holding this address, the most specific first."""
        key = ip_key(ip)
        return self.filter(range_start__lte=key, range_end__gte=key).order_by("-range_start")


class Network(models.Model):
    """A registry network block and its owner, as RDAP answered for it."""

    cidr = models.CharField(_("CIDR"), max_length=49, unique=True)
    # Fixed-width hex keys of the first and last address (see outreach.lib.iputil).
    range_start = models.CharField(_("range start"), max_length=32, editable=False, db_index=True)
    range_end = models.CharField(_("range end"), max_length=32, editable=False)
    registry = models.CharField(_("registry"), max_length=16, blank=True)
    handle = models.CharField(_("registry handle"), max_length=100, blank=True)
    name = models.CharField(_("network name"), max_length=255, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, db_index=True)
    asn = models.PositiveBigIntegerField(_("ASN"), null=True, blank=True, db_index=True)
    as_name = models.CharField(_("AS name"), max_length=255, blank=True)
    abuse_emails = models.JSONField(_("abuse addresses"), default=list, blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="networks",
        verbose_name=_("agency"),
    )
    fetched_at = models.DateTimeField(_("fetched"), null=True, blank=True)
    raw_rdap = models.JSONField(_("raw RDAP answer"), null=True, blank=True)
    # The contacts the answer named, best first: [{"email", "rule",
    # "confidence"}]. A hard bounce moves the hosts to the next one.
    contact_candidates = models.JSONField(_("contact candidates"), default=list, blank=True)

    objects = NetworkQuerySet.as_manager()

    class Meta:
        verbose_name = _("network")
        verbose_name_plural = _("networks")
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

    email = models.CharField(_("email address"), max_length=254, unique=True)
    organisation = models.CharField(_("organisation"), max_length=255, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=language_choices,
        help_text=_("Overrides the language chosen by country."),
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("agency"),
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False, db_index=True)
    do_not_contact_reason = models.CharField(
        _("reason for not contacting"), max_length=255, blank=True
    )
    bounce_score = models.FloatField(_("bounce score"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
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

    ip = models.GenericIPAddressField(_("IP address"), unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SUSPECTED
    )
    last_verdict = models.CharField(
        _("last verdict"), max_length=16, blank=True, choices=verdicts.VERDICT_CHOICES
    )
    last_probed_at = models.DateTimeField(_("last probed"), null=True, blank=True)
    fixed_at = models.DateTimeField(_("fixed"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    asn = models.PositiveBigIntegerField(_("ASN"), null=True, blank=True)
    ptr = models.CharField(_("PTR name"), max_length=255, blank=True)
    network = models.ForeignKey(
        Network,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosts",
        verbose_name=_("network"),
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosts",
        verbose_name=_("contact"),
    )
    contact_rule = models.CharField(_("contact rule"), max_length=32, blank=True)
    contact_confidence = models.FloatField(_("contact confidence"), null=True, blank=True)
    # Indexed through host_agency_status_idx, whose first column it is.
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosts",
        db_index=False,
        verbose_name=_("agency"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = HostQuerySet.as_manager()

    class Meta:
        verbose_name = _("host")
        verbose_name_plural = _("hosts")
        # Every index costs the importer on a million rows: only what the
        # admin, the probes and the contacts stage filter on. Status queries
        # use the composite indexes' leading columns.
        indexes = [
            models.Index(fields=["agency", "status"], name="host_agency_status_idx"),
            models.Index(fields=["status", "last_probed_at"], name="host_status_probed_idx"),
            # Partial, so tiny and never touched by the importer (it writes
            # suspected hosts): the dashboard's and remediation's "re-test
            # inconclusive" open relays.
            models.Index(
                fields=["last_probed_at"],
                condition=models.Q(
                    status="open_relay", last_verdict__in=sorted(verdicts.INCONCLUSIVE)
                ),
                name="host_retest_inconclusive_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.ip

    @property
    def retest_inconclusive(self) -> bool:
        """An open relay whose latest re-test proved nothing: it stays open."""
        return verdicts.retest_inconclusive(self.status, self.last_verdict)


class UserProfile(models.Model):
    """A user's own settings: for now, the language of the admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="outreach_profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("admin language"),
        max_length=10,
        blank=True,
        choices=settings.ADMIN_LANGUAGES,
        help_text=_("Empty: the site language."),
    )

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)
