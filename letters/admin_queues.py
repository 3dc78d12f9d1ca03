"""List filters behind the campaign home's links.

Each filter applies the very condition the home counted with
(``letters.campaign_home``), on the admin's already scoped queryset, so a
count on the home is the length of the list it opens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from letters import campaign_home as home
from outreach.admin_base import ScopedSimpleListFilter
from outreach.models import Campaign, Network

EMPTY = "-"  # the parameter value that means "not known"


class _Filter(ScopedSimpleListFilter):
    def _value(self) -> str | None:
        value = self.value()
        return None if value is None else str(value)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        # Django applies a filter only when it offers a choice: the value a
        # link asks for is always one, even when the sidebar would list none.
        choices = list(self.choices_for(request))
        value = self._value()
        if value is not None and value not in {str(key) for key, _label in choices}:
            choices.append((value, value))
        return choices

    def choices_for(self, request: HttpRequest) -> list[tuple[Any, str]]:
        raise NotImplementedError


class _SetFilter(_Filter):
    """A filter whose choices are named sets of rows (the home's queues and stages).

    A subclass names the home's two functions: ``sets()``, the sets by key,
    and ``members(queryset, key)``, the rows of one set.
    """

    parameter_name = "queue"
    sets: Callable[[], dict]
    members: Callable[[QuerySet, str], QuerySet]

    def choices_for(self, request: HttpRequest) -> list[tuple[str, str]]:
        return [(key, one.label) for key, one in self.sets().items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self._value()
        if value in self.sets():
            return self.members(queryset, value)
        return None


class LetterQueueFilter(_SetFilter):
    title = _("work queue")
    sets = staticmethod(lambda: home.LETTER_SETS)
    members = staticmethod(home.letters_in)


class HostQueueFilter(_SetFilter):
    title = _("stage")
    sets = staticmethod(home.host_sets)
    members = staticmethod(home.hosts_in)


class ResponseQueueFilter(_SetFilter):
    title = _("work queue")
    sets = staticmethod(home.response_sets)
    members = staticmethod(home.responses_in)


class _CountryFilter(_Filter):
    """Countries offered from the small network table: a DISTINCT over the big
    table would scan it all."""

    parameter_name = "country"
    field = "country"

    def choices_for(self, request: HttpRequest) -> list[tuple[str, str]]:
        codes = Network.objects.for_user(request.user).exclude(country="")
        values = codes.values_list("country", flat=True).distinct().order_by("country")
        return [(code, code) for code in values[:300]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self._value()
        if value is None:
            return None
        return queryset.filter(**{self.field: "" if value == EMPTY else value.upper()})


class LetterCountryFilter(_CountryFilter):
    title = _("contact country")
    field = "contact__country"


class HostCountryFilter(_CountryFilter):
    title = _("country")


class CampaignFilter(_Filter):
    """For lists whose rows reach a campaign through a relation (hosts, responses)."""

    title = _("campaign")
    parameter_name = "campaign"
    path = "campaigns__id"

    def choices_for(self, request: HttpRequest) -> list[tuple[int, str]]:
        return [(c.pk, c.name) for c in Campaign.objects.for_user(request.user)[:100]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self._value()
        if value is None or not value.isdigit():
            return None
        return queryset.filter(**{self.path: int(value)})


class ResponseCampaignFilter(CampaignFilter):
    path = "letter__campaign_id"


class RegistryFilter(_Filter):
    title = _("registry")
    parameter_name = "registry"

    def choices_for(self, request: HttpRequest) -> list[tuple[str, str]]:
        names = Network.objects.for_user(request.user).exclude(registry="")
        values = names.values_list("registry", flat=True).distinct().order_by("registry")
        return [(name, name.upper()) for name in values[:50]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self._value()
        if value is None:
            return None
        if value == EMPTY:
            return queryset.filter(Q(network__isnull=True) | Q(network__registry=""))
        return queryset.filter(network__registry=value)


class HostAsnFilter(_Filter):
    title = _("autonomous system")
    parameter_name = "asn"

    def choices_for(self, request: HttpRequest) -> list[tuple[str, str]]:
        rows = Network.objects.for_user(request.user).filter(asn__isnull=False)
        pairs = rows.values_list("asn", "as_name").distinct().order_by("asn")[:200]
        return [(str(asn), f"AS{asn} {name}".strip()) for asn, name in pairs]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = (self._value() or "").upper().removeprefix("AS")
        if not value.isdigit():
            return None
        return queryset.filter(asn=int(value))


# The outcome a letter's hosts give it (letters.remediation, letters.outbox).
OUTCOME_LABELS = {
    "fixed": _("fixed"),
    "partly_fixed": _("partly fixed"),
    "not_fixed": _("not fixed"),
    "unreachable": _("unreachable"),
    "unknown": _("not known yet"),
    "delivery_unknown": _("delivery unknown"),
    "fallback_contact": _("moved to the next contact"),
    "fallback_contact_has_letter": _("next contact already has a letter"),
}


def outcome_label(value: str) -> str:
    return str(OUTCOME_LABELS.get(value, value.replace("_", " "))) if value else "—"


class LetterOutcomeFilter(_Filter):
    title = _("outcome")
    parameter_name = "outcome"

    def choices_for(self, request: HttpRequest) -> list[tuple[str, str]]:
        return [(EMPTY, _("none yet")), *((k, str(v)) for k, v in OUTCOME_LABELS.items())]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self._value()
        if value is None:
            return None
        return queryset.filter(outcome="" if value == EMPTY else value)
