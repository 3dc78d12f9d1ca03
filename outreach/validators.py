"""Validation of strings that strangers write (WHOIS, feeds, mail)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

_email_syntax = EmailValidator()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_email(raw: str) -> str:
    """Return the canonical form of an address, or raise ValidationError.

    Abuse desks are matched case-insensitively in practice, so the whole
    address is lower-cased; the domain is IDNA-encoded so that one mailbox
    cannot appear twice in two spellings.
    """
    value = (raw or "").strip()
    if _CONTROL.search(value):
        raise ValidationError(_("The address contains a control character (CR, LF…)."))
    if value.count("@") != 1:
        raise ValidationError(_("The address must contain exactly one @."))
    local, domain = value.rsplit("@", 1)
    if not local or not domain:
        raise ValidationError(_("The address has no local part or no domain."))
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(_("The domain of the address is not valid.")) from None
    value = f"{local}@{domain}".lower()
    _email_syntax(value)
    return value


def validate_country_codes(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(code, str) and re.fullmatch(r"[A-Za-z]{2}", code) for code in value
    ):
        raise ValidationError(_("Give a list of two-letter ISO country codes."))


def language_choices() -> list[tuple[str, str]]:
    """The letter languages, as model and form choices (read when a form is built)."""
    return list(settings.LANGUAGES)


def validate_language(code: str) -> None:
    if code not in {lang for lang, _name in settings.LANGUAGES}:
        raise ValidationError(_("%(code)s is not a letter language.") % {"code": code})
