"""Which language a letter is written in, and why.

The chain, first match wins: the contact's own override → the language of
the network's country → the signing agency's default → English. The reason
is stored on the letter so an investigator can see (and change) the choice.
Pure module: no ORM, only settings.LANGUAGES.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

FALLBACK_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})

# ISO 3166-1 alpha-2 → letter language. Only countries whose networks are
# overwhelmingly run in one of our letter languages; multilingual countries
# (BE, CH, CA, IN…) are left out on purpose and fall through to the agency.
COUNTRY_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(["US", "GB", "IE", "AU", "NZ", "ZA", "NG", "KE", "GH", "JM"], "en"),
    **dict.fromkeys(["FR", "LU", "MC", "SN", "CI", "ML", "BF", "NE", "GA", "HT"], "fr"),
    **dict.fromkeys(
        ["ES", "MX", "AR", "CL", "CO", "PE", "VE", "EC", "UY", "PY", "BO", "CR", "GT", "HN"],
        "es",
    ),
    **dict.fromkeys(["NI", "PA", "SV", "DO", "CU", "PR"], "es"),
    **dict.fromkeys(["BR", "PT", "AO", "MZ", "CV"], "pt"),
    **dict.fromkeys(["DE", "AT", "LI"], "de"),
    **dict.fromkeys(["IT", "SM", "VA"], "it"),
    **dict.fromkeys(["NL", "SR"], "nl"),
    "PL": "pl",
    **dict.fromkeys(["RU", "BY", "KZ", "KG"], "ru"),
    "UA": "uk",
    "TR": "tr",
    **dict.fromkeys(
        ["SA", "AE", "EG", "IQ", "JO", "KW", "LB", "LY", "OM", "QA", "SY", "YE", "BH"], "ar"
    ),
    **dict.fromkeys(["SD", "DZ", "TN", "MA", "PS"], "ar"),
    "IL": "he",
    "JP": "ja",
    "CN": "zh-hans",
    "KR": "ko",
    "VN": "vi",
    "ID": "id",
    "TH": "th",
    "SE": "sv",
    **dict.fromkeys(["GR", "CY"], "el"),
    **dict.fromkeys(["RO", "MD"], "ro"),
    "CZ": "cs",
}


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    reason: str  # short and stable: "contact", "country:BR", "agency:ftc", "default"


def supported_languages() -> frozenset[str]:
    return frozenset(code for code, _name in settings.LANGUAGES)


def language_name(code: str) -> str:
    """A letter language by its own name ("Español"), as a language menu shows it."""
    return dict(settings.LANGUAGES).get(code, code)


def is_rtl(language: str) -> bool:
    return language.split("-")[0] in RTL_LANGUAGES


def language_for_country(country: str) -> str | None:
    language = COUNTRY_LANGUAGE.get((country or "").strip().upper())
    return language if language in supported_languages() else None


def language_choose(
    *, override: str = "", country: str = "", agency_default: str = "", agency_code: str = ""
) -> LanguageChoice:
    """Walk the chain and return the first supported language with its reason."""
    supported = supported_languages()
    if override in supported:
        return LanguageChoice(override, "contact")
    by_country = language_for_country(country)
    if by_country:
        return LanguageChoice(by_country, f"country:{country.strip().upper()}")
    if agency_default in supported:
        return LanguageChoice(agency_default, f"agency:{agency_code}"[:64])
    return LanguageChoice(FALLBACK_LANGUAGE, "default")
