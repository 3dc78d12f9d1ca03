"""How a letter names its signing agency and its partners, in the letter's language.

Pure: agency texts in, words out. No ORM, no request. The selector
(``outreach.selectors.agency_words_for``) reads the texts; ``render`` shows
what this module returns.

Rules, taken from the customer's reference letter:
- Each agency has, per language, a name and a sentence that introduces it,
  written whole. When a text is missing in the letter's language, the
  agency's default language is used, then English, then the agency's own
  name; the letter records each fallback.
- Partners in the signing agency's country are the *national* partners; the
  others are the *international community*. Each group is one sentence.
- Members of a group (the states' attorneys general) are named together,
  through the group's own phrase: "les Attorneys General des états de
  l'Arkansas, de la Louisiane … et du Texas".
- Names are isolated from the sentence around them (``<bdi>`` in HTML, the
  Unicode isolates FSI…PDI in right-to-left text), so a Latin name keeps its
  order inside Arabic or Hebrew.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext_lazy

FSI, PDI = "\u2068", "\u2069"


# An agency's texts in one language beside its name: the columns of
# outreach.AgencyText that a letter's sentences use.
TEXT_FIELDS = ("introduction", "subject", "in_list", "group", "group_phrase", "group_member")


@dataclass(frozen=True)
class AgencyWords:
    """One agency's texts in one language (the letter's, or a fallback's)."""

    code: str
    country: str
    language: str
    name: str
    introduction: str = ""
    subject: str = ""
    in_list: str = ""
    group: str = ""
    group_phrase: str = ""
    group_member: str = ""
    # True when these texts are not in the letter's language: the agency is
    # then named by its bare name, never with another language's article or
    # group phrase, so no sentence mixes two languages.
    fallback: bool = False

    @property
    def listed(self) -> str:
        return self.name if self.fallback else (self.in_list or self.name)


@dataclass(frozen=True)
class Fallback:
    """A text the letter could not have in its own language."""

    agency: str
    wanted: str
    used: str

    def as_dict(self) -> dict[str, str]:
        return {"agency": self.agency, "wanted": self.wanted, "used": self.used}


@dataclass
class LetterWords:
    """Everything the templates say about agencies, in text and HTML."""

    name: str
    introduction: str
    subject: str
    national: str = ""
    international: str = ""
    national_html: SafeString = field(default_factory=lambda: mark_safe(""))
    international_html: SafeString = field(default_factory=lambda: mark_safe(""))
    fallbacks: list[Fallback] = field(default_factory=list)


def words_choose(
    texts: dict[str, AgencyWords], *, language: str, default_language: str, own: AgencyWords
) -> tuple[AgencyWords, Fallback | None]:
    """The agency's words in ``language``, else its default language, else English.

    ``own`` is the agency's own record (its name, no introduction), the last
    resort when it has no text at all.
    """
    for candidate in (language, default_language, "en"):
        if candidate in texts:
            chosen = texts[candidate]
            if candidate == language:
                return chosen, None
            return replace(chosen, fallback=True), Fallback(own.code, language, candidate)
    return replace(own, fallback=True), Fallback(own.code, language, "")


def partners_split(
    signing: AgencyWords, partners: list[AgencyWords]
) -> tuple[list[AgencyWords], list[AgencyWords]]:
    """National partners (the signing agency's country) and the international ones, in order."""
    national = [p for p in partners if p.country == signing.country]
    international = [p for p in partners if p.country != signing.country]
    return national, international


@dataclass(frozen=True)
class _Item:
    """One entry of a partner list: a single agency, or a group with its members."""

    phrase: str
    members: tuple[str, ...] = ()


def partner_items(partners: list[AgencyWords]) -> list[_Item]:
    """The list entries in order; a group stands where its first member stands.

    Only members whose texts are in the letter's language join a group, so a
    group phrase never mixes two languages.
    """
    items: list[_Item] = []
    groups: dict[tuple[str, str], int] = {}
    for partner in partners:
        grouped = partner.group and partner.group_phrase and partner.group_member
        if partner.fallback or not grouped:
            items.append(_Item(partner.listed))
            continue
        key = (partner.group, partner.language)
        if key in groups:
            index = groups[key]
            item = items[index]
            items[index] = _Item(item.phrase, (*item.members, partner.group_member))
        else:
            groups[key] = len(items)
            items.append(_Item(partner.group_phrase, (partner.group_member,)))
    return [_single_member_as_name(item, partners) for item in items]


def _single_member_as_name(item: _Item, partners: list[AgencyWords]) -> _Item:
    # A group of one reads better as that agency's own name.
    if len(item.members) != 1:
        return item
    for partner in partners:
        if partner.group_phrase == item.phrase and partner.group_member == item.members[0]:
            return _Item(partner.listed)
    return item


# Separators between words and before the last one, translated when used.
NAME_SEPARATORS = (
    # Translators: separates names inside one phrase ("Arkansas, Louisiana and Texas").
    pgettext_lazy("names in a phrase", ", "),
    # Translators: before the last name inside one phrase ("… Louisiana and Texas").
    pgettext_lazy("names in a phrase, before the last", " and "),
)
ITEM_SEPARATORS = (
    # Translators: separates partner agencies in a list ("…; the Postal Inspection Service; …").
    pgettext_lazy("partner list", "; "),
    # Translators: before the last partner agency in a list ("…; and the Richardson Police").
    pgettext_lazy("partner list, before the last", "; and "),
)


def names_join(names: list[str]) -> str:
    """Names inside one phrase: "a, b and c" in the active language."""
    return _joined(names, NAME_SEPARATORS)


def items_join(items: list[str]) -> str:
    """Partners in a sentence: "a; b; and c" in the active language."""
    return _joined(items, ITEM_SEPARATORS)


def _joined(words: list[str], separators: tuple[Promise, Promise]) -> str:
    if len(words) < 2:
        return "".join(words)
    between, last = (str(separator) for separator in separators)
    return between.join(words[:-1]) + last + words[-1]


def isolate(name: str, *, rtl: bool) -> str:
    """A name kept in its own direction inside right-to-left text."""
    return f"{FSI}{name}{PDI}" if rtl else name


def partners_text(partners: list[AgencyWords], *, rtl: bool) -> str:
    entries = []
    for item in partner_items(partners):
        members = [isolate(m, rtl=rtl) for m in item.members]
        phrase = item.phrase.replace("{members}", names_join(members)) if members else item.phrase
        entries.append(phrase if members else isolate(phrase, rtl=rtl))
    return items_join(entries)


def partners_html(partners: list[AgencyWords]) -> SafeString:
    """The same list, escaped, each name in a ``<bdi>``."""
    entries = []
    for item in partner_items(partners):
        if item.members:
            members = [format_html("<bdi>{}</bdi>", m) for m in item.members]
            before, _sep, after = item.phrase.partition("{members}")
            joined = mark_safe(names_join(members))  # noqa: S308 (each member escaped above)
            entries.append(
                format_html("{}{}{}", conditional_escape(before), joined, conditional_escape(after))
            )
        else:
            entries.append(format_html("<bdi>{}</bdi>", item.phrase))
    return mark_safe(items_join([str(e) for e in entries]))  # noqa: S308 (escaped above)


def letter_words(
    signing: AgencyWords,
    partners: list[AgencyWords],
    *,
    rtl: bool,
    fallbacks: list[Fallback] | None = None,
) -> LetterWords:
    """What the letter says about its agencies. Call inside ``translation.override``."""
    national, international = partners_split(signing, partners)
    return LetterWords(
        name=signing.name,
        introduction=signing.introduction,
        subject=signing.subject or signing.name,
        national=partners_text(national, rtl=rtl),
        international=partners_text(international, rtl=rtl),
        national_html=partners_html(national),
        international_html=partners_html(international),
        fallbacks=list(fallbacks or []),
    )
