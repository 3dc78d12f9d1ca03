"""Selector: a letter's agencies, in the letter's language and the campaign's order.

Reads :class:`outreach.models.AgencyText` and :class:`outreach.models.PartnerRank`
once per letter and hands plain :class:`letters.partners.AgencyWords` to the
pure renderer.
"""

from __future__ import annotations

from letters.partners import TEXT_FIELDS, AgencyWords, Fallback, words_choose
from outreach.models import Agency, AgencyText, Campaign, PartnerRank
from outreach.seed import SEED_AGENCIES

SEED_ORDER = {row["code"]: index for index, row in enumerate(SEED_AGENCIES)}


def _own(agency: Agency) -> AgencyWords:
    return AgencyWords(code=agency.code, country=agency.country, language="", name=agency.name)


def _words(text: AgencyText, agency: Agency) -> AgencyWords:
    return AgencyWords(
        code=agency.code,
        country=agency.country,
        language=text.language,
        name=text.name,
        **{name: getattr(text, name) for name in TEXT_FIELDS},
    )


def agency_words_for(
    *, campaign: Campaign, agency: Agency, language: str
) -> tuple[AgencyWords, list[AgencyWords], list[Fallback]]:
    """The signing agency's words, its partners' in order, and every fallback taken."""
    agencies = [agency, *(a for a in campaign.agencies() if a.pk != agency.pk)]
    texts: dict[int, dict[str, AgencyWords]] = {a.pk: {} for a in agencies}
    by_pk = {a.pk: a for a in agencies}
    for text in AgencyText.objects.filter(agency__in=agencies):
        texts[text.agency_id][text.language] = _words(text, by_pk[text.agency_id])
    chosen, fallbacks = [], []
    for member in agencies:
        words, fallback = words_choose(
            texts[member.pk],
            language=language,
            default_language=member.default_language,
            own=_own(member),
        )
        chosen.append(words)
        if fallback is not None:
            fallbacks.append(fallback)
    ranks = dict(PartnerRank.objects.filter(campaign=campaign).values_list("agency__code", "rank"))
    partners = sorted(chosen[1:], key=lambda w: _order_key(w, ranks))
    return chosen[0], partners, fallbacks


def _order_key(words: AgencyWords, ranks: dict[str, int]) -> tuple[int, int, str]:
    """The campaign's rank, then the reference letter's order, then alphabetical."""
    if words.code in ranks:
        return (0, ranks[words.code], "")
    if words.code in SEED_ORDER:
        return (1, SEED_ORDER[words.code], "")
    return (2, 0, words.listed.casefold())
