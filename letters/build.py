"""Writes of the letter stage: build drafts, approve, choose the language."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from letters.agency_texts import agency_words_for
from letters.approval import recipient_link_issue
from letters.languages import language_choose, supported_languages
from letters.models import Letter
from letters.rendered import letters_render_enqueue
from outreach.models import Agency, Campaign, Contact, Host, Network

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KIND = "open_relay"
# Statuses a rebuild may still rewrite; later ones are what was approved or sent.
REBUILDABLE = {Letter.Status.DRAFT}
INVESTIGATOR_REASON = "investigator"


@dataclass
class BuildSummary:
    """What one build of a campaign's letters did (the command's ``--json``)."""

    campaign: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_do_not_contact: int = 0
    hosts_without_contact: int = 0
    # Open relays whose network's abuse contact asked not to be written to:
    # the contacts stage leaves them without a contact, on purpose.
    hosts_opted_out: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


@transaction.atomic
def letters_build(
    *, campaign_id: int, progress: Callable[[int, int], None] | None = None
) -> BuildSummary:
    """One draft letter per (campaign, contact) over the contact's open relays.

    Idempotent: drafts are refreshed (hosts, signer, language unless an
    investigator set it), letters already approved or sent are left alone.
    The signer is the contact's agency, else the campaign's lead agency.
    New letters and their host links are written in bulk; a draft is saved
    again only when something in it changed. ``progress(done, total)`` is
    called after each contact.
    """
    campaign = Campaign.objects.select_related("lead_agency").get(pk=campaign_id)
    summary = BuildSummary(campaign=campaign.slug)
    by_contact = _open_relays_by_contact(campaign, summary)
    contacts = Contact.objects.select_related("agency").in_bulk(list(by_contact))
    existing = {
        letter.contact_id: letter
        for letter in Letter.objects.filter(campaign=campaign, kind=KIND, contact_id__in=contacts)
    }
    linked = _letter_host_ids([letter.pk for letter in existing.values()])
    # The agency texts a letter falls back on depend on (signer, language) only.
    fallbacks: dict[tuple[int, str], list[dict]] = {}
    new: list[tuple[Letter, list[Host]]] = []
    for done, (contact_id, hosts) in enumerate(by_contact.items(), start=1):
        contact, letter = contacts[contact_id], existing.get(contact_id)
        if contact.do_not_contact:
            summary.skipped_do_not_contact += 1
        elif letter is None:
            new.append(
                (
                    _letter_draft(
                        Letter(campaign=campaign, contact=contact, kind=KIND),
                        campaign,
                        contact,
                        hosts,
                        fallbacks,
                    ),
                    hosts,
                )
            )
        elif letter.status in REBUILDABLE and _letter_refresh(
            letter, campaign, contact, hosts, linked, fallbacks
        ):
            summary.updated += 1
        else:
            summary.unchanged += 1
        if progress:
            progress(done, len(by_contact))
    summary.created = _letters_create(new)
    return summary


def _open_relays_by_contact(campaign: Campaign, summary: BuildSummary) -> dict[int, list[Host]]:
    hosts = campaign.hosts.filter(status=Host.Status.OPEN_RELAY).select_related("network")
    by_contact: dict[int, list[Host]] = defaultdict(list)
    uncontacted: Counter[int | None] = Counter()
    for host in hosts.only("id", "ip", "country", "contact_id", "network__country"):
        if host.contact_id is None:
            uncontacted[host.network_id] += 1
        else:
            by_contact[host.contact_id].append(host)
    opted_out = _networks_opted_out([n for n in uncontacted if n is not None])
    for network_id, count in uncontacted.items():
        if network_id in opted_out:
            summary.hosts_opted_out += count
        else:
            summary.hosts_without_contact += count
    return by_contact


def _networks_opted_out(network_ids: list[int]) -> set[int]:
    """The networks one of whose abuse addresses opted out (so they have no contact)."""
    emails: dict[int, set[str]] = {}
    rows = Network.objects.filter(pk__in=network_ids).values_list(
        "pk", "abuse_emails", "contact_candidates"
    )
    for pk, abuse, candidates in rows:
        named = {c.get("email", "") for c in candidates or [] if isinstance(c, dict)}
        emails[pk] = {e.lower() for e in [*(abuse or []), *named] if isinstance(e, str) and e}
    every = set().union(*emails.values()) if emails else set()
    blocked = set(
        Contact.objects.filter(email__in=every, do_not_contact=True).values_list("email", flat=True)
    )
    return {pk for pk, named in emails.items() if named & blocked}


def _letter_host_ids(letter_ids: list[int]) -> dict[int, set[int]]:
    through = Letter.hosts.through
    linked: dict[int, set[int]] = defaultdict(set)
    for letter_id, host_id in through.objects.filter(letter_id__in=letter_ids).values_list(
        "letter_id", "host_id"
    ):
        linked[letter_id].add(host_id)
    return linked


def _letter_draft(
    letter: Letter,
    campaign: Campaign,
    contact: Contact,
    hosts: list[Host],
    fallbacks: dict[tuple[int, str], list[dict]],
) -> Letter:
    """Set the signer and (unless an investigator chose it) the language."""
    agency = contact.agency or campaign.lead_agency
    letter.agency = agency
    if letter.language_reason != INVESTIGATOR_REASON:
        choice = language_choose(
            override=contact.language,
            country=network_country(hosts) or contact.country,
            agency_default=agency.default_language,
            agency_code=agency.code,
        )
        letter.language, letter.language_reason = choice.language, choice.reason
    letter.text_fallbacks = _texts_fallbacks(campaign, agency, letter.language, fallbacks)
    return letter


def _texts_fallbacks(
    campaign: Campaign, agency: Agency, language: str, cache: dict[tuple[int, str], list[dict]]
) -> list[dict]:
    """The agency texts this letter falls back on, read once per (signer, language)."""
    key = (agency.pk, language)
    if key not in cache:
        _signing, _partners, fallbacks = agency_words_for(
            campaign=campaign, agency=agency, language=language
        )
        cache[key] = [fallback.as_dict() for fallback in fallbacks]
    return cache[key]


def _letter_refresh(
    letter: Letter,
    campaign: Campaign,
    contact: Contact,
    hosts: list[Host],
    linked: dict[int, set[int]],
    fallbacks: dict[tuple[int, str], list[dict]],
) -> bool:
    """Bring a draft up to date; False when it already was."""
    before = (letter.agency_id, letter.language, letter.language_reason, letter.text_fallbacks)
    _letter_draft(letter, campaign, contact, hosts, fallbacks)
    host_ids = {host.pk for host in hosts}
    after = (letter.agency_id, letter.language, letter.language_reason, letter.text_fallbacks)
    if before == after and host_ids == linked.get(letter.pk, set()):
        return False
    letter.save(update_fields=["agency", "language", "language_reason", "text_fallbacks"])
    letter.hosts.set(hosts)
    return True


def _letters_create(new: list[tuple[Letter, list[Host]]]) -> int:
    letters = Letter.objects.bulk_create([letter for letter, _hosts in new], batch_size=1000)
    through = Letter.hosts.through
    links = [
        through(letter_id=letter.pk, host_id=host.pk)
        for letter, (_same, hosts) in zip(letters, new, strict=True)
        for host in hosts
    ]
    through.objects.bulk_create(links, batch_size=5000)
    return len(letters)


def network_country(hosts: list[Host]) -> str:
    """The country most of these relays' networks (else the hosts) are in."""
    countries = Counter(
        (host.network.country if host.network_id else "") or host.country for host in hosts
    )
    countries.pop("", None)
    return countries.most_common(1)[0][0] if countries else ""


def _letter_status(letter: Letter) -> dict[str, object]:
    """The placeholders of a message naming a letter and its status (as shown)."""
    return {"id": letter.pk, "status": letter.get_status_display().lower()}


def _scoped_letter(letter_id: int, user: AbstractBaseUser) -> Letter:
    letter = Letter.objects.for_user(user).filter(pk=letter_id).first()
    if letter is None:
        raise PermissionDenied(gettext("No such letter for this user."))
    return letter


def _draft_for(
    letter_id: int, user: AbstractBaseUser, permission: str, denied: str, not_draft: str
) -> Letter:
    """The user's draft letter ``letter_id``, when ``permission`` lets them change it.

    ``denied`` and ``not_draft`` are the (translated) refusals; ``not_draft``
    takes the ``_letter_status`` placeholders.
    """
    if not user.has_perm(permission):
        raise PermissionDenied(denied)
    letter = _scoped_letter(letter_id, user)
    if letter.status != Letter.Status.DRAFT:
        raise ValidationError(not_draft % _letter_status(letter))
    return letter


@transaction.atomic
def letter_approve(*, letter_id: int, user: AbstractBaseUser) -> Letter:
    """Approve a draft. Needs the ``letters.approve_letter`` permission."""
    denied = gettext("Approving letters needs the approve_letter permission.")
    not_draft = gettext("Letter %(id)s is %(status)s, not a draft.")
    letter = _draft_for(letter_id, user, "letters.approve_letter", denied, not_draft)
    letter.status = Letter.Status.APPROVED
    letter.approved_by = user
    letter.approved_at = timezone.now()
    letter.save(update_fields=["status", "approved_by", "approved_at"])
    recipient_link_issue(letter=letter)
    # Rendered once, now, on the render queue (letters.rendered).
    transaction.on_commit(lambda: letters_render_enqueue(letter_ids=[letter.pk]))
    return letter


@transaction.atomic
def letter_language_set(*, letter_id: int, language: str, user: AbstractBaseUser) -> Letter:
    """An investigator's choice of language; later rebuilds keep it."""
    if language not in supported_languages():
        message = gettext("%(language)r is not a letter language.")
        raise ValidationError(message % {"language": language})
    # Frozen once approved: "revoke approval" (letters.approval) returns it to
    # draft, and discards its rendering, before the language can change.
    denied = gettext("Changing letters needs the change_letter permission.")
    not_draft = gettext("Letter %(id)s is %(status)s; it can no longer change.")
    letter = _draft_for(letter_id, user, "letters.change_letter", denied, not_draft)
    letter.language, letter.language_reason = language, INVESTIGATOR_REASON
    letter.text_fallbacks = _texts_fallbacks(letter.campaign, letter.agency, language, {})
    letter.save(update_fields=["language", "language_reason", "text_fallbacks"])
    return letter
