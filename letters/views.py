"""The public recipient page: /r/<token>/ and the four actions it offers.

No login: the token is the only key, and it opens exactly one letter. Every
response carries a strict CSP, is never cached and leaks no referrer, and
every request counts against per-IP and per-token limits.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from letters import recipient, shortcode
from letters.archive import sent_message_latest, sent_message_text
from letters.blobs import BlobMissing
from letters.forms import AnswerForm, DisputeForm, FixedForm, OptOutForm
from letters.languages import supported_languages
from letters.models import RecipientToken

# The body of a form post: a few fields of at most 5000 characters each.
MAX_BODY_BYTES = 64 * 1024
CSS_PATH = Path(settings.BASE_DIR) / "templates" / "recipient" / "page.css"

FORMS: dict[str, type[forms.Form]] = {
    "answer": AnswerForm,
    "fixed": FixedForm,
    "dispute": DisputeForm,
    "optout": OptOutForm,
}


@lru_cache(maxsize=1)
def page_css() -> tuple[str, str]:
    """The page's only style sheet, inlined, and its CSP hash."""
    css = CSS_PATH.read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"'sha256-{digest}'"


def _secure(response: HttpResponse) -> HttpResponse:
    # No scripts, no third-party anything; forms post only back to us.
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {page_css()[1]}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    # The token is in the URL: keep it out of caches and of the Referer sent
    # to other sites. Not "no-referrer": browsers then send "Origin: null" with
    # the page's own forms, and the CSRF check rightly refuses them.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _plain(request: HttpRequest, template: str, status: int, **extra: object) -> HttpResponse:
    """An error page in the reader's language and direction, with a way back."""
    css, _hash = page_css()
    language = _entry_language(request)
    with translation.override(language):
        context = {
            "css": css,
            "language": language,
            "bidi": translation.get_language_info(language)["bidi"],
            "back": _back_url(request, language),
            **extra,
        }
        response = render(request, template, context, status=status)
        response["Content-Language"] = language
    return _secure(response)


def _back_url(request: HttpRequest, language: str) -> str:
    """The letter's page this request came from (its token is in the URL), or ""."""
    match = request.resolver_match
    token = match.kwargs.get("token", "") if match else ""
    if len(token) != recipient.TOKEN_LENGTH:
        return ""
    return _page_url(token, language)


def recipient_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Limits, token lookup, language and headers shared by every view."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: object) -> HttpResponse:
        ip = recipient.client_ip(request)
        if recipient.limit_hit(scope="ip", key=ip, limit=settings.OUTREACH_RECIPIENT_IP_PER_HOUR):
            return _too_many(request)
        found = recipient.recipient_token_find(token)
        if found is None:
            # The brake counts wrong links only, and only wrong links meet it:
            # an owner typing their letter's link behind a busy NAT gets through.
            misses = settings.OUTREACH_RECIPIENT_MISSES_PER_HOUR
            if recipient.limit_reached(scope="miss", key=ip, limit=misses):
                return _too_many(request)
            recipient.limit_hit(scope="miss", key=ip, limit=misses)
            return _plain(request, "recipient/not_found.html", 404)
        language = _language(request, found)
        with translation.override(language):
            response = view(request, found, language, ip, **kwargs)
            response["Content-Language"] = language
        return _secure(response)

    return wrapper


def _too_many(request: HttpRequest) -> HttpResponse:
    response = _plain(request, "recipient/too_many.html", 429)
    response["Retry-After"] = "3600"
    return response


def _supported(*choices: str) -> str:
    """The first of these languages the page has a catalog for, else the default."""
    codes = supported_languages()
    return next((code for code in choices if code in codes), settings.LANGUAGE_CODE)


def _language(request: HttpRequest, token: RecipientToken) -> str:
    # The visitor's ?lang= choice, else the letter's own language.
    return _supported(request.GET.get("lang", ""), token.letter.language)


def _page_url(token: str, language: str, **extra: str) -> str:
    query = urlencode({"lang": language, **extra})
    return f"{reverse('recipient:page', kwargs={'token': token})}?{query}"


@require_safe
@recipient_view
def page(request: HttpRequest, token: RecipientToken, language: str, ip: str) -> HttpResponse:
    recipient.recipient_token_viewed(token=token)
    return _render_page(request, token, language, {})


@require_safe
@recipient_view
def transcript(
    request: HttpRequest, token: RecipientToken, language: str, ip: str, probe_id: int
) -> HttpResponse:
    """The whole transcript of one probe of the letter's hosts, as plain text."""
    text = recipient.recipient_transcript(letter=token.letter, probe_id=probe_id)
    if text is None:
        return _plain(request, "recipient/not_found.html", 404)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@require_safe
@recipient_view
def sent_letter(
    request: HttpRequest, token: RecipientToken, language: str, ip: str
) -> HttpResponse:
    """The letter we sent, from the archive: the bytes the server took."""
    sent = sent_message_latest(letter_id=token.letter_id)
    try:
        subject, text = sent_message_text(sent) if sent else ("", "")
    except BlobMissing:
        sent = None
    if sent is None:
        return _plain(request, "recipient/not_found.html", 404)
    context = {
        "css": page_css()[0],
        "subject": subject,
        "text": text,
        "sent": sent,
        "language": language,
        "bidi": translation.get_language_info(language)["bidi"],
        "path": reverse("recipient:page", kwargs={"token": request.resolver_match.kwargs["token"]}),
    }
    return render(request, "recipient/letter.html", context)


def _render_page(
    request: HttpRequest,
    token: RecipientToken,
    language: str,
    bound: dict[str, forms.Form],
    status: int = 200,
) -> HttpResponse:
    letter = token.letter
    evidence, total = recipient.recipient_evidence(letter=letter)
    done = request.GET.get("done", "")
    context = {
        "css": page_css()[0],
        "letter": letter,
        "campaign": letter.campaign,
        "agency": letter.agency,
        "agencies": list(letter.campaign.agencies()),
        "instructions_url": letter.campaign.instructions_url or letter.agency.instructions_url,
        "hosts": evidence,
        "hosts_total": total,
        "forms": {name: bound.get(name) or form(prefix=name) for name, form in FORMS.items()},
        "done": done if done in {*FORMS, "retest", "retest_refused"} else "",
        "retests_left": recipient.retests_left(letter_id=letter.pk),
        "retest_pending": recipient.retest_pending(letter_id=letter.pk),
        "opted_out": letter.contact.do_not_contact,
        "language": language,
        "bidi": translation.get_language_info(language)["bidi"],
        "languages": settings.LANGUAGES,
        "path": reverse("recipient:page", kwargs={"token": request.resolver_match.kwargs["token"]}),
        "token": request.resolver_match.kwargs["token"],
        "letter_sent": sent_message_latest(letter_id=letter.pk) is not None,
    }
    return render(request, "recipient/page.html", context, status=status)


def body_bounded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuses an oversized post before anything reads its body.

    The CSRF check reads the body, so it runs after this one, inside.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = MAX_BODY_BYTES + 1
        if length > MAX_BODY_BYTES:
            return _plain(request, "recipient/too_large.html", 413)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)


@csrf_exempt  # _act checks the size first, then CSRF (body_bounded)
def act(request: HttpRequest, token: str, action: str) -> HttpResponse:
    """A form's URL: posted, it acts; reloaded (GET), it shows the letter's page again."""
    if request.method in ("GET", "HEAD"):
        query = urlencode({"lang": request.GET["lang"]}) if "lang" in request.GET else ""
        target = reverse("recipient:page", kwargs={"token": token})
        return HttpResponseRedirect(f"{target}?{query}" if query else target, status=303)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    return _act(request, token=token, action=action)


@body_bounded
@recipient_view
def _act(
    request: HttpRequest, token: RecipientToken, language: str, ip: str, action: str
) -> HttpResponse:
    form = FORMS[action](request.POST, prefix=action)
    if recipient.limit_hit(
        scope="token", key=token.token_hash, limit=settings.OUTREACH_RECIPIENT_POSTS_PER_HOUR
    ):
        # The page again, with what the reader typed, and why it was not sent.
        form.is_valid()
        form.add_error(None, _("Too many messages for today: please try again in an hour."))
        response = _render_page(request, token, language, {action: form}, status=429)
        response["Retry-After"] = "3600"
        return response
    if not form.is_valid():
        return _render_page(request, token, language, {action: form}, status=400)
    visitor = recipient.Visitor(
        token=token, ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", "")
    )
    done = ACTIONS[action](visitor, form.cleaned_data)
    raw = request.resolver_match.kwargs["token"]
    return HttpResponseRedirect(_page_url(raw, language, done=done), status=303)


@require_http_methods(["GET", "HEAD", "POST"])
@body_bounded
def code_entry(request: HttpRequest) -> HttpResponse:
    """Where a code typed from the paper letter opens the letter's page."""
    language = _entry_language(request)
    with translation.override(language):
        response = _code_entry(request, language)
        response["Content-Language"] = language
    return _secure(response)


def _code_entry(request: HttpRequest, language: str) -> HttpResponse:
    context = {"css": page_css()[0], "language": language, "typed": "", "error": ""}
    context["bidi"] = translation.get_language_info(language)["bidi"]
    if request.method != "POST":
        return render(request, "recipient/code.html", context)
    ip = recipient.client_ip(request)
    if recipient.limit_hit(scope="ip", key=ip, limit=settings.OUTREACH_RECIPIENT_IP_PER_HOUR):
        return _too_many(request)
    typed = request.POST.get("code", "")[:64]
    context["typed"] = typed
    if shortcode.code_normalise(typed) is None:
        # A typo is not a guess: it does not count against the brake.
        context["error"] = _("This code has a typo: please check it against your letter.")
        return render(request, "recipient/code.html", context, status=400)
    misses = settings.OUTREACH_RECIPIENT_MISSES_PER_HOUR
    found = recipient.recipient_code_find(typed)
    if found is None:
        if recipient.limit_hit(scope="miss", key=ip, limit=misses):
            return _too_many(request)
        context["error"] = _(
            "No letter has this code. Please check it, or use the link printed in the letter."
        )
        return render(request, "recipient/code.html", context, status=404)
    raw = recipient.token_derive(found.secret)
    return HttpResponseRedirect(_page_url(raw, language), status=303)


def _entry_language(request: HttpRequest) -> str:
    # No letter yet: the visitor's ?lang= choice, else the browser's.
    return _supported(request.GET.get("lang", ""), translation.get_language_from_request(request))


def _answer(visitor: recipient.Visitor, data: dict) -> str:
    recipient.recipient_answer(visitor=visitor, message=data["message"])
    return "answer"


def _fixed(visitor: recipient.Visitor, data: dict) -> str:
    queued = recipient.recipient_fixed_claim(visitor=visitor, message=data["message"])
    return "retest" if queued else "retest_refused"


def _dispute(visitor: recipient.Visitor, data: dict) -> str:
    recipient.recipient_dispute(
        visitor=visitor,
        reason=data["reason"],
        message=data["message"],
        better_contact=data["better_contact"],
    )
    return "dispute"


def _opt_out(visitor: recipient.Visitor, data: dict) -> str:
    recipient.recipient_opt_out(visitor=visitor, reason=data["reason"])
    return "optout"


ACTIONS: dict[str, Callable[[recipient.Visitor, dict], str]] = {
    "answer": _answer,
    "fixed": _fixed,
    "dispute": _dispute,
    "optout": _opt_out,
}


# Form fields a reader types, kept on the CSRF failure page so nothing is lost.
TYPED_FIELDS = ("message", "reason", "better_contact", "code")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: on the recipient page, say what to do and keep what was typed.

    The usual cause is a browser that blocks cookies; elsewhere (the admin)
    Django's own page answers.
    """
    if not request.path.startswith("/r/"):
        from django.views.csrf import csrf_failure as django_csrf_failure

        return django_csrf_failure(request, reason)
    typed = [
        str(value)[: MAX_BODY_BYTES // 4]
        for key, value in request.POST.items()
        if key.rsplit("-", 1)[-1] in TYPED_FIELDS and str(value).strip()
    ]
    return _plain(request, "recipient/csrf_failure.html", 403, typed=typed)
