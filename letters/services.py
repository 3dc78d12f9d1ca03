"""Writes of the letter stage: build drafts, approve, change language, export."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from letters.languages import language_choose, supported_languages
from letters.models import Letter
from letters.rendered import letter_rendering_discard, letters_render_enqueue
from outreach.models import Campaign, Contact, Host

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from django.contrib.auth.models import AbstractBaseUser

KIND = "open_relay"
# Statuses a rebuild may still rewrite; later ones are what was approved or sent.
REBUILDABLE = {Letter.Status.DRAFT}
INVESTIGATOR_REASON = "investigator"
EXPORTABLE = (Letter.Status.APPROVED, Letter.Status.EXPORTED, Letter.Status.SENT)
# A merged PDF is held in memory whole (about 0.35 MB a page): beyond this many
# letters, export a ZIP or split the export by agency or language.
MAX_MERGED_LETTERS = 1000


@dataclass
class BuildSummary:
    campaign: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_do_not_contact: int = 0
    hosts_without_contact: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


@transaction.atomic
def letters_build(*, campaign_id: int) -> BuildSummary:
    """One draft letter per (campaign, contact) over the contact's open relays.

    Idempotent: drafts are refreshed (hosts, signer, language unless an
    investigator set it), letters already approved or sent are left alone.
    The signer is the contact's agency, else the campaign's lead agency.
    New letters and their host links are written in bulk; a draft is saved
    again only when something in it changed.
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
    new: list[tuple[Letter, list[Host]]] = []
    for contact_id, hosts in by_contact.items():
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
                    ),
                    hosts,
                )
            )
        elif letter.status in REBUILDABLE and _letter_refresh(
            letter, campaign, contact, hosts, linked
        ):
            summary.updated += 1
        else:
            summary.unchanged += 1
    summary.created = _letters_create(new)
    return summary


def _open_relays_by_contact(campaign: Campaign, summary: BuildSummary) -> dict[int, list[Host]]:
    hosts = campaign.hosts.filter(status=Host.Status.OPEN_RELAY).select_related("network")
    by_contact: dict[int, list[Host]] = defaultdict(list)
    for host in hosts.only("id", "ip", "country", "contact_id", "network__country"):
        if host.contact_id is None:
            summary.hosts_without_contact += 1
        else:
            by_contact[host.contact_id].append(host)
    return by_contact


def _letter_host_ids(letter_ids: list[int]) -> dict[int, set[int]]:
    through = Letter.hosts.through
    linked: dict[int, set[int]] = defaultdict(set)
    for letter_id, host_id in through.objects.filter(letter_id__in=letter_ids).values_list(
        "letter_id", "host_id"
    ):
        linked[letter_id].add(host_id)
    return linked


def _letter_draft(
    letter: Letter, campaign: Campaign, contact: Contact, hosts: list[Host]
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
    return letter


def _letter_refresh(
    letter: Letter,
    campaign: Campaign,
    contact: Contact,
    hosts: list[Host],
    linked: dict[int, set[int]],
) -> bool:
    """Bring a draft up to date; False when it already was."""
    before = (letter.agency_id, letter.language, letter.language_reason)
    _letter_draft(letter, campaign, contact, hosts)
    host_ids = {host.pk for host in hosts}
    if before == (letter.agency_id, letter.language, letter.language_reason) and (
        host_ids == linked.get(letter.pk, set())
    ):
        return False
    letter.save(update_fields=["agency", "language", "language_reason"])
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


def _scoped_letter(letter_id: int, user: AbstractBaseUser) -> Letter:
    letter = Letter.objects.for_user(user).filter(pk=letter_id).first()
    if letter is None:
        raise PermissionDenied("No such letter for this user.")
    return letter


@transaction.atomic
def letter_approve(*, letter_id: int, user: AbstractBaseUser) -> Letter:
    """Approve a draft. Needs the ``letters.approve_letter`` permission."""
    if not user.has_perm("letters.approve_letter"):
        raise PermissionDenied("Approving letters needs the approve_letter permission.")
    letter = _scoped_letter(letter_id, user)
    if letter.status != Letter.Status.DRAFT:
        raise ValidationError(f"Letter {letter.pk} is {letter.status}, not a draft.")
    letter.status = Letter.Status.APPROVED
    letter.approved_by = user
    letter.approved_at = timezone.now()
    letter.save(update_fields=["status", "approved_by", "approved_at"])
    # Rendered once, now, on the render queue (letters.rendered).
    transaction.on_commit(lambda: letters_render_enqueue(letter_ids=[letter.pk]))
    return letter


@transaction.atomic
def letter_language_set(*, letter_id: int, language: str, user: AbstractBaseUser) -> Letter:
    """An investigator's choice of language; later rebuilds keep it."""
    if language not in supported_languages():
        raise ValidationError(f"{language!r} is not a letter language.")
    if not user.has_perm("letters.change_letter"):
        raise PermissionDenied("Changing letters needs the change_letter permission.")
    letter = _scoped_letter(letter_id, user)
    if letter.status not in (Letter.Status.DRAFT, Letter.Status.APPROVED):
        raise ValidationError(f"Letter {letter.pk} is {letter.status}; it can no longer change.")
    letter.language, letter.language_reason = language, INVESTIGATOR_REASON
    letter.save(update_fields=["language", "language_reason"])
    if letter.status == Letter.Status.APPROVED:
        # The stored rendering is in the old language: render it again.
        letter_rendering_discard(letter_id=letter.pk)
        transaction.on_commit(lambda: letters_render_enqueue(letter_ids=[letter.pk]))
    return letter


# --- Export ---------------------------------------------------------------

MANIFEST_FIELDS = [
    "letter_id",
    "campaign",
    "agency",
    "contact_email",
    "organisation",
    "language",
    "language_reason",
    "hosts",
    "status",
    "file",
    "first_page",
    "last_page",
    "sha256",
    "message_sha256",
]


@dataclass
class ExportSummary:
    path: str
    letters: int
    merged: bool


def letters_export(
    *,
    letters: Iterable[Letter],
    out: Path,
    merged: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write a ZIP: one PDF per letter (or one merged PDF) and manifest.csv.

    File names carry agency, contact and letter id. The ZIP is written to a
    temporary name and renamed, so a crash never leaves a half file behind.
    """
    letters = list(letters)
    if merged and len(letters) > MAX_MERGED_LETTERS:
        raise ValueError(
            f"{len(letters)} letters is too many for one merged PDF (at most "
            f"{MAX_MERGED_LETTERS}); filter by --agency or --language, or export a ZIP."
        )
    tmp = out.with_name(out.name + ".part")
    try:
        _zip_write(tmp, letters, merged=merged, progress=progress)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return ExportSummary(path=str(out), letters=len(letters), merged=merged)


def _zip_write(
    path: Path,
    letters: list[Letter],
    *,
    merged: bool,
    progress: Callable[[int, int], None] | None,
) -> None:
    from letters.render import letter_render
    from letters.rendered import letter_rendering_store

    rows, htmls = [], []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, letter in enumerate(letters, start=1):
            row = manifest_row(letter)
            if merged:
                htmls.append(letter_render(letter).print_html)
            else:
                # The PDF rendered once: the same bytes as the one sent by email.
                stored = letter_rendering_store(letter=letter)
                row["file"] = letter_filename(letter)
                row["sha256"] = stored.pdf_sha256
                archive.writestr(row["file"], stored.pdf)
            rows.append(row)
            if progress:
                progress(done, len(letters))
        if merged and htmls:
            _merged_write(archive, rows, htmls)
        archive.writestr("manifest.csv", manifest_csv(rows))


def _merged_write(archive: zipfile.ZipFile, rows: list[dict], htmls: list[str]) -> None:
    from letters.pdf import merged_pdf

    pdf, counts = merged_pdf(htmls)
    first = 1
    for row, count in zip(rows, counts, strict=True):
        row.update(file="letters.pdf", first_page=first, last_page=first + count - 1)
        first += count
    archive.writestr("letters.pdf", pdf)


def letter_filename(letter: Letter) -> str:
    contact = re.sub(r"[^a-z0-9]+", "-", letter.contact.email.lower()).strip("-")[:60]
    return f"{letter.agency.code}_{contact}_{letter.pk}.pdf"


def manifest_row(letter: Letter) -> dict:
    return {
        "letter_id": letter.pk,
        "campaign": letter.campaign.slug,
        "agency": letter.agency.code,
        "contact_email": letter.contact.email,
        "organisation": letter.contact.organisation,
        "language": letter.language,
        "language_reason": letter.language_reason,
        "hosts": letter.hosts.count(),
        "status": letter.status,
        "file": "",
        "first_page": "",
        "last_page": "",
        "sha256": "",
        # The archived message as the mail server took it (letters.archive).
        "message_sha256": next(
            iter(letter.sent_messages.order_by("-recorded_at").values_list("sha256", flat=True)),
            "",
        ),
    }


def manifest_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_safe(value) for key, value in row.items()})
    return buffer.getvalue()


def csv_safe(value: object) -> object:
    # Organisation names come from WHOIS: never let a spreadsheet run them.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
