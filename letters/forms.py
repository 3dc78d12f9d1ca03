"""The recipient page's forms: plain text only, every field bounded."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX = 5000
REASON_MAX = 500
# Control characters other than tab, newline and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value: str) -> str:
    # Any text is welcome: "Network Operations <noc@isp.example>" and the
    # RCPT TO:<…> lines this page quotes are ordinary answers. What an owner
    # wrote is stored as they wrote it and escaped wherever it is shown.
    if CONTROL.search(value):
        raise ValidationError(_("The text contains control characters."), code="control")
    return value


class PlainTextField(forms.CharField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)
        self.validators.append(plain_text)


def optional_message(label: str | Promise) -> PlainTextField:
    """A short free-text note the owner may leave empty."""
    return PlainTextField(
        label=label,
        max_length=MESSAGE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PageForm(forms.Form):
    def __init__(self, *args: object, **kwargs: object) -> None:
        # The labels are whole sentences, some of them questions: no "?:".
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AnswerForm(PageForm):
    message = PlainTextField(
        label=_("Your answer"), max_length=MESSAGE_MAX, widget=forms.Textarea(attrs={"rows": 6})
    )


class FixedForm(PageForm):
    message = optional_message(_("What did you change? (optional)"))


class DisputeForm(PageForm):
    REASONS = {
        "not_our_network": _("This is not our network"),
        "wrong_contact": _("We are the wrong contact for this network"),
    }

    reason = forms.ChoiceField(
        label=_("Reason"), choices=list(REASONS.items()), widget=forms.RadioSelect
    )
    better_contact = forms.EmailField(
        label=_("A better contact (optional)"), max_length=254, required=False
    )
    message = optional_message(_("Anything else (optional)"))


class OptOutForm(PageForm):
    reason = PlainTextField(
        label=_("Why do you no longer want these letters?"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
