"""Investigator admin for letters: preview (HTML and PDF), approve, export."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_update
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from letters import admin_recipient  # noqa: F401  (registers the recipient page's admin)
from letters.admin_inbound import MatchedFilter, ResponseMarkMixin
from letters.admin_queues import (
    LetterCountryFilter,
    LetterOutcomeFilter,
    LetterQueueFilter,
    ResponseCampaignFilter,
    ResponseQueueFilter,
    outcome_label,
)
from letters.approval import FROZEN_FIELDS, letter_approval_revoke, letter_is_frozen
from letters.archive import sent_message_bytes
from letters.blobs import BlobMissing
from letters.build import letter_approve, letter_language_set
from letters.compose import letter_compose, letter_pdf
from letters.delivery import letters_mark_sent
from letters.exports import (
    EXPORTABLE,
    export_job_create,
    export_job_status,
    export_paths,
    letter_filename,
)
from letters.languages import language_name, supported_languages
from letters.models import Letter, Mailbox, Response, Smarthost
from letters.outbox import DELIVERY_UNKNOWN, letters_requeue_unknown
from outreach.admin_base import ScopedAdmin, ScopedInline
from outreach.admin_feedback import ActionReport
from outreach.admin_search import LetterSearchMixin
from outreach.audit import audit_event

# A send that may or may not have reached the smarthost (letters.outbox).
UNKNOWN = (Letter.Status.FAILED, DELIVERY_UNKNOWN)
# An export job's states (letters.exports), as its page names them.
EXPORT_STATES = {
    "queued": _("queued"),
    "running": _("running"),
    "done": _("done"),
    "failed": _("failed"),
}


class RevokeApprovalForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        label=_("Reason"),
        help_text=_("Why the approval is revoked. Kept in the audit log."),
    )


class ResponseInline(ScopedInline):
    model = Response
    fields = ["received_at", "channel", "kind", "sender", "subject", "outcome"]
    readonly_fields = ["received_at", "sender", "subject"]


@admin.register(Letter)
class LetterAdmin(LetterSearchMixin, ScopedAdmin):
    # Who and where first: at 1366 px the rest wraps (static/outreach/admin.css).
    list_display = [
        "id",
        "contact",
        "status",
        "outcome_display",
        "sent_at",
        "language",
        "agency",
        "campaign",
    ]
    list_filter = [
        "status",
        "language",
        ("campaign", admin.RelatedOnlyFieldListFilter),
        ("agency", admin.RelatedOnlyFieldListFilter),
        LetterOutcomeFilter,
        LetterQueueFilter,
        LetterCountryFilter,
    ]
    # A host's address, prefix, CIDR or AS, or a contact's email, is an
    # indexed match (LetterSearchMixin); other text searches these.
    search_fields = ["contact__email", "contact__organisation", "=message_id"]
    raw_id_fields = ["contact", "hosts"]
    autocomplete_fields = ["campaign", "agency"]
    list_select_related = ["campaign", "agency", "contact"]
    readonly_fields = [
        "preview_links",
        "sent_message_links",
        "language_reason",
        "status",
        "message_id",
        "reply_token",
        "sent_at",
        "approved_by",
        "approved_at",
        "claimed_at",
        "send_attempts",
        "next_attempt_at",
        "last_error",
    ]
    exclude = ["claim_token"]
    inlines = [ResponseInline]
    # "export" actions need letters.send_letter in the letter's agency.
    permission_codenames = {"export": "send_letter"}
    actions = [
        "approve_selected",
        "export_selected",
        "export_selected_merged",
        "requeue_unknown",
        "mark_sent",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Letter | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and letter_is_frozen(obj):
            # Approved: frozen until an audited "revoke approval" returns it to draft.
            # Every field, not only FROZEN_FIELDS: responses (inline) are their own rows.
            every = [
                f.name
                for f in Letter._meta.get_fields()
                if f.concrete and f.editable and not f.primary_key
            ]
            extra = [*FROZEN_FIELDS, *every, "revoke_link"]
            fields += [f for f in dict.fromkeys(extra) if f not in fields and f != "claim_token"]
        return fields

    @admin.display(description=_("Approval"))
    def revoke_link(self, obj: Letter) -> str:
        if obj.status != Letter.Status.APPROVED:
            return gettext("Sent or exported: changes only through responses and outcomes.")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:letters_letter_revoke", args=[obj.pk]),
            gettext("Revoke approval (back to draft)…"),
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/revoke/", view(self.revoke_view), name="letters_letter_revoke"),
            path("<int:pk>/preview/", view(self.preview_view), name="letters_letter_preview"),
            path("<int:pk>/preview.pdf", view(self.pdf_view), name="letters_letter_pdf"),
            path(
                "<int:pk>/sent/<int:sent_pk>.eml",
                view(self.sent_message_view),
                name="letters_letter_sent_message",
            ),
            path("export/<str:export_id>/", view(self.export_view), name="letters_letter_export"),
            path(
                "export/<str:export_id>/download/",
                view(self.download_view),
                name="letters_letter_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("Outcome"), ordering="outcome")
    def outcome_display(self, obj: Letter) -> str:
        return outcome_label(obj.outcome)

    @admin.display(description=_("Preview"))
    def preview_links(self, obj: Letter) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">HTML</a> · <a href="{}">PDF</a>',
            reverse("admin:letters_letter_preview", args=[obj.pk]),
            reverse("admin:letters_letter_pdf", args=[obj.pk]),
        )

    def revoke_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET shows the form and writes nothing; POST revokes, with a reason."""
        letter = self._letter(request, pk)
        form = RevokeApprovalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                letter_approval_revoke(
                    letter_id=letter.pk, user=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request, gettext("Approval revoked: the letter is a draft again.")
                )
                return redirect("admin:letters_letter_change", letter.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": letter,
            "form": form,
            "title": gettext("Revoke the approval of letter %(id)s") % {"id": letter.pk},
        }
        return TemplateResponse(request, "admin/letters/letter/revoke.html", context)

    @admin.display(description=_("Archive"))
    def sent_message_links(self, obj: Letter) -> str:
        if not obj.pk:
            return "-"
        rows = [
            format_html(
                '<a href="{}">{}</a> · {} · SHA-256 {} · {}',
                reverse("admin:letters_letter_sent_message", args=[obj.pk, sent.pk]),
                gettext("Download the message as sent"),
                sent.message_id,
                sent.sha256,
                _accepted(sent.accepted_at),
            )
            for sent in obj.sent_messages.order_by("-recorded_at")
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows)) or "-"

    def sent_message_view(self, request: HttpRequest, pk: int, sent_pk: int) -> HttpResponse:
        letter = self._letter(request, pk)
        sent = get_object_or_404(letter.sent_messages, pk=sent_pk)
        try:
            data = sent_message_bytes(sent)
        except BlobMissing as error:
            raise Http404("The archived message is missing") from error
        audit_event(actor=request.user, obj=letter, event="download sent message", note=sent.sha256)
        response = HttpResponse(data, content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="letter-{letter.pk}-{sent.pk}.eml"'
        return response

    def save_model(self, request: HttpRequest, obj: Letter, form: Any, change: bool) -> None:
        if change and letter_is_frozen(Letter.objects.get(pk=obj.pk)):
            # Frozen: the form changed nothing (its inline responses still save).
            if request.POST.get("language", obj.language) != obj.language:
                message = gettext(
                    "Language not changed: the letter is frozen until its approval is revoked."
                )
                self.message_user(request, message, messages.ERROR)
            return
        # The language goes through the service, which checks the letter's
        # state and the permission and marks the choice as the investigator's
        # (later rebuilds of the drafts keep it).
        language = obj.language
        language_changed = change and "language" in form.changed_data
        if language_changed:
            obj.language = form.initial["language"]
        super().save_model(request, obj, form, change)
        if not language_changed:
            return
        try:
            changed = letter_language_set(letter_id=obj.pk, language=language, user=request.user)
        except (PermissionDenied, ValidationError) as error:
            message = gettext("Language not changed: %(error)s") % {"error": _error_text(error)}
            self.message_user(request, message, messages.ERROR)
            return
        obj.language, obj.language_reason = changed.language, changed.language_reason

    # --- Preview ------------------------------------------------------------

    def _letter(self, request: HttpRequest, pk: int) -> Letter:
        letter = get_object_or_404(Letter.objects.for_user(request.user), pk=pk)
        if not self.has_view_permission(request, letter):
            raise PermissionDenied
        return letter

    def _language(self, request: HttpRequest) -> str | None:
        language = request.GET.get("language", "")
        return language if language in supported_languages() else None

    # The letter's HTML (in a sandboxed srcdoc iframe, which inherits this
    # page's CSP) carries inline styles, as e-mail HTML must; scripts stay off.
    @method_decorator(csp_update({"style-src": ["'self'", "'unsafe-inline'"]}))
    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = self._letter(request, pk)
        rendered = letter_compose(letter, language=self._language(request))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "letter": letter,
            "rendered": rendered,
            "language_reason": language_reason_label(letter.language_reason),
            # Each language by its own name, as a language menu shows it.
            "languages": [(code, language_name(code)) for code in sorted(supported_languages())],
            "language_name": language_name(rendered.language),
            "title": gettext("Letter %(id)s: %(language)s")
            % {
                "id": letter.pk,
                "language": language_name(rendered.language),
            },
        }
        return TemplateResponse(request, "admin/letters/letter/preview.html", context)

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = self._letter(request, pk)
        response = HttpResponse(
            letter_pdf(letter, language=self._language(request)), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="{letter_filename(letter)}"'
        return response

    # --- Actions ------------------------------------------------------------

    @admin.action(description=_("Approve selected draft letters"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        report = ActionReport(
            ngettext_lazy("%(count)d letter approved.", "%(count)d letters approved.", "count")
        )
        for letter_id, status in queryset.values_list("pk", "status"):
            if status != Letter.Status.DRAFT:
                reason = gettext("not a draft (%(status)s)") % {"status": _status_name(status)}
                report.skip(letter_id, reason)
                continue
            try:
                letter_approve(letter_id=letter_id, user=request.user)
            except PermissionDenied as error:
                report.fail(letter_id, str(error) or gettext("permission denied"))
            except ValidationError as error:
                report.skip(letter_id, "; ".join(error.messages))
            else:
                report.ok(letter_id)
        report.send(self, request)

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("letters.approve_letter")

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("letters.send_letter")

    @admin.action(
        description=_("Export selected approved letters (ZIP of PDFs)"), permissions=["export"]
    )
    def export_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._export(request, queryset, merged=False)

    @admin.action(
        description=_("Export selected approved letters (one PDF to print)"),
        permissions=["export"],
    )
    def export_selected_merged(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        return self._export(request, queryset, merged=True)

    def _export(
        self, request: HttpRequest, queryset: QuerySet, *, merged: bool
    ) -> HttpResponse | None:
        from letters.tasks import letters_export_task

        report = ActionReport(
            ngettext_lazy(
                "%(count)d letter going into the export.",
                "%(count)d letters going into the export.",
                "count",
            )
        )
        letter_ids = []
        for letter_id, status in queryset.values_list("pk", "status"):
            if status in EXPORTABLE:
                letter_ids.append(letter_id)
                report.ok(letter_id)
            else:
                reason = gettext("not approved (%(status)s)") % {"status": _status_name(status)}
                report.skip(letter_id, reason)
        report.send(self, request)
        if not letter_ids:
            return None
        export_id = export_job_create(user_id=request.user.pk, total=len(letter_ids), merged=merged)
        kwargs = {"export_id": export_id, "letter_ids": letter_ids, "user_id": request.user.pk}
        transaction.on_commit(lambda: letters_export_task.delay(**kwargs, merged=merged))
        return redirect("admin:letters_letter_export", export_id=export_id)

    # --- Export progress and download --------------------------------------

    def _status(self, request: HttpRequest, export_id: str) -> dict:
        if not self.has_export_permission(request):
            raise PermissionDenied
        status = export_job_status(export_id=export_id, user_id=request.user.pk)
        if status is None:
            raise Http404("No such export")
        return status

    def export_view(self, request: HttpRequest, export_id: str) -> HttpResponse:
        status = self._status(request, export_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "status": status,
            "state_label": EXPORT_STATES.get(status.get("state"), status.get("state")),
            "export_id": export_id,
            "title": gettext("Letter export"),
        }
        return TemplateResponse(request, "admin/letters/letter/export.html", context)

    def download_view(self, request: HttpRequest, export_id: str) -> FileResponse:
        if self._status(request, export_id).get("state") != "done":
            raise Http404("This export is not finished")
        zip_path, _progress = export_paths(export_id)
        return FileResponse(zip_path.open("rb"), as_attachment=True, filename=zip_path.name)

    @admin.action(
        description=_("Delivery unknown: resend as a new message (not in the smarthost log)"),
        permissions=["export"],  # letters.send_letter: "Can send or export letters"
    )
    def requeue_unknown(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        done = ngettext_lazy(
            "%(count)d letter will be sent again as a new message.",
            "%(count)d letters will be sent again as new messages.",
            "count",
        )
        self._settle_unknown(request, queryset, letters_requeue_unknown, done)

    @admin.action(
        description=_("Delivery unknown: mark as sent (delivered per the smarthost log)"),
        permissions=["export"],
    )
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        done = ngettext_lazy(
            "%(count)d letter marked as sent.", "%(count)d letters marked as sent.", "count"
        )
        self._settle_unknown(request, queryset, letters_mark_sent, done)

    def _settle_unknown(
        self, request: HttpRequest, queryset: QuerySet[Letter], settle: Any, done: Any
    ) -> None:
        """Apply the service ``settle`` to the letters of unknown delivery; report the rest."""
        chosen = list(queryset.values_list("id", "status", "outcome"))
        unknown = [pk for pk, status, outcome in chosen if (status, outcome) == UNKNOWN]
        count = settle(letter_ids=unknown, actor=request.user) if unknown else 0
        report = ActionReport(done)
        report.ok(count=count)
        for pk, status, outcome in chosen:
            if (status, outcome) != UNKNOWN:
                report.skip(pk, gettext("its delivery is not unknown"))
        # The UPDATE re-checks the state: a row that changed meanwhile is left.
        report.skip(None, gettext("changed meanwhile"), count=len(unknown) - count)
        report.send(self, request)


@admin.register(Smarthost)
class SmarthostAdmin(ScopedAdmin):
    list_display = ["agency", "host", "port", "security", "connections", "is_active"]
    list_filter = ["security", "is_active"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]


@admin.register(Mailbox)
class MailboxAdmin(ScopedAdmin):
    list_display = ["agency", "host", "username", "folder", "is_active", "polled_at"]
    list_filter = ["is_active"]
    autocomplete_fields = ["agency"]
    list_select_related = ["agency"]
    readonly_fields = ["polled_at"]


@admin.register(Response)
class ResponseAdmin(ResponseMarkMixin, ScopedAdmin):
    list_display = [
        "received_at",
        "kind",
        "severity",
        "channel",
        "sender",
        "subject",
        "letter",
        "handled_by",
    ]
    list_filter = [
        MatchedFilter,
        "kind",
        "severity",
        "channel",
        ResponseCampaignFilter,
        ResponseQueueFilter,
    ]
    search_fields = ["sender", "subject", "message_id"]
    # What the classifier read is evidence: shown, never edited.
    readonly_fields = ["rule", "failed_recipients", "inbox", "identity"]
    raw_id_fields = ["letter"]
    autocomplete_fields = ["handled_by"]
    list_select_related = ["letter__contact", "letter__campaign", "handled_by"]
    date_hierarchy = "received_at"


def _status_name(status: str) -> str:
    """A letter's status as a skip reason names it: its label, in lower case."""
    return str(Letter.Status(status).label).lower()


def _accepted(accepted_at: Any) -> str:
    if not accepted_at:
        return gettext("acceptance unknown")
    return gettext("accepted %(time)s UTC") % {"time": f"{accepted_at:%Y-%m-%d %H:%M:%S}"}


def _error_text(error: Exception) -> str:
    # A ValidationError's str() is the repr of its list; people read its messages.
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    return str(error)


def language_reason_label(reason: str) -> str:
    """Why a letter has its language, in words: the stored reason is a code
    ("contact", "country:BR", "agency:ftc", "default", "investigator")."""
    kind, _sep, value = (reason or "").partition(":")
    if kind == "country":
        return gettext("the network's country is %(country)s") % {"country": value}
    if kind == "agency":
        return gettext("it is the default of agency %(agency)s") % {"agency": value}
    named = {
        "contact": gettext("the contact's language is set"),
        "default": gettext("it is the default language"),
        "investigator": gettext("an investigator chose it"),
    }
    return named.get(reason, reason or "-")
