"""Reads the letter stage reuses: a letter's hosts with their latest probe,
and everything else a letter shows, gathered for the pure renderer."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from letters.agency_texts import agency_words_for
from letters.render import HostEvidence, LetterData, SignerData
from outreach.lib.verdict_names import OPEN_RELAY
from probes.models import Probe

if TYPE_CHECKING:
    from letters.models import Letter
    from outreach.models import Agency, Host

# A letter lists every host; beyond this many the table stops and says how
# many were left out, so one huge contact cannot make a 500-page PDF.
MAX_LISTED_HOSTS = 200
MAX_LOGO_BYTES = 256 * 1024
_LOGO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def letter_hosts_latest(
    letter: Letter, *, limit: int = MAX_LISTED_HOSTS
) -> tuple[list[tuple[Host, Probe | None]], int]:
    """The letter's hosts by address, each with its latest probe, and how many in all.

    Two queries whatever the number of hosts (a third counts them past
    ``limit``): the hosts with the id of their latest probe, then those probes.
    """
    latest = Probe.objects.filter(host=OuterRef("pk")).order_by("-started_at", "-pk")
    proof = latest.filter(verdict=OPEN_RELAY)
    hosts = list(
        letter.hosts.annotate(
            latest_probe=Subquery(latest.values("pk")[:1]),
            latest_proof=Subquery(proof.values("pk")[:1]),
        ).order_by("ip")[:limit]
    )
    probes = Probe.objects.in_bulk([_shown(h) for h in hosts if _shown(h)])
    total = len(hosts) if len(hosts) < limit else letter.hosts.count()
    return [(host, probes.get(_shown(host))) for host in hosts], total


def _shown(host: Host) -> int | None:
    """The latest probe, unless it proved nothing about a known open relay:
    then the latest proof of relaying, which still stands."""
    if host.retest_inconclusive and host.latest_proof:
        return host.latest_proof
    return host.latest_probe


def letter_evidence(letter: Letter) -> tuple[list[HostEvidence], int]:
    """The letter's hosts (by address) with their latest probe, and the total count."""
    rows, total = letter_hosts_latest(letter)
    return [_evidence(host, probe) for host, probe in rows], total


def _evidence(host: Host, probe: Probe | None) -> HostEvidence:
    if probe is None:
        return HostEvidence(host.ip, host.last_verdict, host.last_probed_at, [], "")
    return HostEvidence(
        host.ip,
        probe.verdict,
        probe.finished_at or probe.started_at,
        list(probe.tests_passed or []),
        probe.transcript,
    )


def letter_render_data(letter: Letter, *, language: str | None = None) -> LetterData:
    """What the letter says besides its evidence, in ``language`` (default: the letter's)."""
    campaign, agency = letter.campaign, letter.agency
    language = language or letter.language
    signing, partners, _fallbacks = agency_words_for(
        campaign=campaign, agency=agency, language=language
    )
    return LetterData(
        pk=letter.pk,
        kind=letter.kind,
        language=letter.language,
        signing_words=signing,
        partner_words=partners,
        agency_language=agency.default_language,
        campaign_slug=campaign.slug,
        agency=SignerData(
            name=agency.name,
            postal_address=agency.postal_address,
            signature=agency.signature,
            contact_email=agency.contact_email,
        ),
        organisation=letter.contact.organisation,
        contact_email=letter.contact.email,
        instructions_url=campaign.instructions_url or agency.instructions_url,
        logo_data_uri=logo_data_uri(agency),
        date=timezone.localdate(letter.approved_at or letter.created_at),
    )


def logo_data_uri(agency: Agency) -> str:
    """The agency's logo inlined as data: (the PDF fetcher reads nothing else)."""
    if not agency.logo:
        return ""
    try:
        with agency.logo.open("rb") as handle:
            data = handle.read(MAX_LOGO_BYTES + 1)
    except OSError:
        return ""
    mime = next((m for magic, m in _LOGO_TYPES.items() if data.startswith(magic)), None)
    if mime is None or len(data) > MAX_LOGO_BYTES:
        return ""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
