"""The admin's language: the user's own choice, else the site language.

Django's LocaleMiddleware follows the browser. In the admin that mixed two
languages on one page (Django's own strings in Spanish, ours in English), so
the admin never follows the browser: it speaks the language of the user's
profile, or ``settings.LANGUAGE_CODE``, and only languages whose admin catalog
is complete (``settings.ADMIN_LANGUAGES``) can be chosen. The recipient pages
keep their own rule (the letter's language).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from outreach.models import UserProfile
from outreach.services import user_language_set


def admin_language_for(user: Any) -> str:
    """The language the admin speaks to ``user`` (anonymous: the site's)."""
    chosen = admin_language_choice(user)
    return chosen if chosen in dict(settings.ADMIN_LANGUAGES) else settings.LANGUAGE_CODE


def admin_language_choice(user: Any) -> str:
    """The user's own choice, "" for none (the site language)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    return UserProfile.objects.filter(user=user).values_list("language", flat=True).first() or ""


class AdminLanguageMiddleware:
    """Activates the admin language for every admin URL, after authentication."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._prefix = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Resolved on the first request: the URLconf is not loaded at start-up.
        self._prefix = self._prefix or reverse("admin:index")
        if request.path_info.startswith(self._prefix):
            language = admin_language_for(request.user)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Admin language"),
        required=False,
        choices=[("", gettext_lazy("Site language")), *settings.ADMIN_LANGUAGES],
    )


def preferences_view(request: HttpRequest, *, context: dict[str, Any]) -> HttpResponse:
    """The user's own preferences page; a POST saves and reloads in the new language."""
    initial = {"language": admin_language_choice(request.user)}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        user_language_set(user=request.user, language=form.cleaned_data["language"])
        with translation.override(admin_language_for(request.user)):
            messages.success(request, _("Your preferences are saved."))
        return redirect("admin:preferences")
    return TemplateResponse(
        request,
        "admin/preferences.html",
        {**context, "form": form, "title": _("Preferences")},
    )
