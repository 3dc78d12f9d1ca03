"""Admin forms of the core domain."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _

from letters.routable import sender_problems
from outreach.models import Agency


class AgencyAdminForm(forms.ModelForm):
    """An active agency signs letters: its answers and bounces must come back."""

    class Meta:
        model = Agency
        fields = [
            "name",
            "code",
            "country",
            "default_language",
            "postal_address",
            "signature",
            "contact_email",
            "reply_domain",
            "instructions_url",
            "jurisdiction",
            "logo",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("is_active"):
            return cleaned
        problems = sender_problems(
            contact_email=cleaned.get("contact_email") or "",
            reply_domain=cleaned.get("reply_domain") or "",
            default_from=settings.DEFAULT_FROM_EMAIL,
            lab=settings.LAB_MODE,
        )
        for problem in problems:
            if problem.field not in self.errors:
                message = _("%(problem)s: an active agency cannot send with it.")
                self.add_error(problem.field, message % {"problem": problem})
        return cleaned
