"""Writes of the core domain that touch several rows or have side effects."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from outreach.models import Agency, AgencyText, Campaign, Membership, UserProfile
from outreach.seed import SEED_AGENCIES
from outreach.seed_texts import seed_texts


@transaction.atomic
def agencies_seed() -> tuple[int, int]:
    """Create or refresh the reference campaign's agencies. Idempotent.

    Returns (created, updated). Fields an operator changed since are
    overwritten only for the values the seed itself defines.
    """
    created = updated = 0
    for row in SEED_AGENCIES:
        defaults = {key: value for key, value in row.items() if key != "code"}
        defaults.setdefault("default_language", "en")
        # Every seed agency can send in the demo: a complete set of addresses
        # in a documentation domain (allowed in lab mode only).
        defaults.setdefault("contact_email", f"relay@{row['code']}.example")
        defaults.setdefault("reply_domain", f"{row['code']}.example")
        _agency, was_created = Agency.objects.update_or_create(code=row["code"], defaults=defaults)
        created += was_created
        updated += not was_created
    agency_texts_seed()
    return created, updated


@transaction.atomic
def agency_texts_seed() -> int:
    """Load the seed agencies' names and introductions per language. Idempotent.

    A text someone marked reviewed is left alone unless the seed's own text
    is reviewed too: a person's edit beats a machine's draft.
    """
    texts = seed_texts()  # one read of the seed file
    agencies = {a.code: a for a in Agency.objects.filter(code__in=texts.keys())}
    written = 0
    for code, by_language in texts.items():
        if code not in agencies:
            continue
        for language, fields in by_language.items():
            written += _agency_text_write(agencies[code], language, fields)
    return written


def _agency_text_write(agency: Agency, language: str, fields: dict[str, str]) -> int:
    text = AgencyText.objects.filter(agency=agency, language=language).first()
    if text is None:
        AgencyText.objects.create(agency=agency, language=language, **fields)
        return 1
    if text.status == AgencyText.Status.REVIEWED and fields["status"] != text.status:
        return 0
    for key, value in fields.items():
        setattr(text, key, value)
    text.save()
    return 1


@transaction.atomic
def campaign_demo_ensure(*, slug: str = "open-relay-demo") -> Campaign:
    """The demo campaign: led by the FTC with every other seed agency as partner."""
    lead = Agency.objects.get(code="ftc")
    campaign, _created = Campaign.objects.get_or_create(
        slug=slug,
        defaults={
            "name": "Open relay notification (demo)",
            "lead_agency": lead,
            "status": Campaign.Status.ACTIVE,
            "instructions_url": lead.instructions_url,
            "remediation_deadline": timezone.localdate() + dt.timedelta(days=30),
        },
    )
    campaign.partners.set(Agency.objects.exclude(pk=lead.pk))
    return campaign


@transaction.atomic
def user_demo_ensure(*, username: str, agency_code: str, role: str) -> tuple[AbstractBaseUser, str]:
    """Create (or reset) a demo login and return it with a fresh password."""
    password = secrets.token_urlsafe(12)
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(username=username)
    user.is_staff = True
    user.is_superuser = False
    user.set_password(password)
    user.save()
    Membership.objects.update_or_create(
        user=user, agency=Agency.objects.get(code=agency_code), defaults={"role": role}
    )
    return user, password


@transaction.atomic
def agency_user_add(
    *, agency_code: str, username: str, role: str, email: str = "", language: str = ""
) -> tuple[AbstractBaseUser, str]:
    """Create a staff login in one agency and return it with a one-time password.

    Refuses an unknown agency, role or admin language and an existing
    username, so a typo never hands an existing account to someone else.
    ``language`` is the user's admin language ("" for the site language).
    """
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(Membership.Role.values)}.")
    if language and language not in dict(settings.ADMIN_LANGUAGES):
        choices = ", ".join(dict(settings.ADMIN_LANGUAGES))
        raise ValueError(f"Unknown admin language {language!r}: use one of {choices}.")
    agency = Agency.objects.filter(code=agency_code).first()
    if agency is None:
        raise ValueError(f"No agency with code {agency_code!r}.")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValueError(f"The username {username!r} is taken.")
    password = secrets.token_urlsafe(15)
    user = user_model.objects.create_user(
        username=username, email=email, password=password, is_staff=True
    )
    Membership.objects.create(user=user, agency=agency, role=role)
    if language:
        user_language_set(user=user, language=language)
    return user, password


def demo_prepare() -> tuple[Campaign, AbstractBaseUser, str]:
    """Seed agencies, the demo campaign and the demo investigator's login.

    The demo investigator may do everything the admin offers. Returns the
    campaign, the user and a fresh password.
    """
    from django.contrib.auth.models import Permission

    agencies_seed()
    campaign = campaign_demo_ensure()
    user, password = user_demo_ensure(
        username="investigator", agency_code="ftc", role=Membership.Role.INVESTIGATOR
    )
    user.user_permissions.set(Permission.objects.all())
    return campaign, user, password


def user_language_set(*, user: AbstractBaseUser, language: str) -> UserProfile:
    """Store the user's admin language ("" for the site language)."""
    if language and language not in dict(settings.ADMIN_LANGUAGES):
        raise ValueError(f"not an admin language: {language!r}")
    profile, _created = UserProfile.objects.get_or_create(user=user)
    if profile.language != language:
        profile.language = language
        profile.save(update_fields=["language"])
    return profile
