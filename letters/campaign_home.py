"""What the campaign home shows: the funnel, the work queues, the breakdowns.

Reads only. Every count starts from ``Model.objects.for_user(user)``, so a
partner's home counts only its own agency's hosts and letters. Each stage and
queue is one named condition (``LETTER_SETS``, ``HOST_SETS``,
``RESPONSE_SETS``); the admin lists filter with the very same condition
(``letters.admin_queues``), so the number on the home is the length of the
list it links to.

Conditions on data models that other work adds (a re-test verdict judged
inconclusive, a response's severity...) are declared only when the model has
what they need, so they appear once that code is merged.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from letters.dashboard import BREAKDOWN_LABELS
from letters.models import Letter, RecipientAction, Response
from letters.outbox import DELIVERY_UNKNOWN
from letters.responses import HUMAN
from outreach.models import Campaign, Host
from probes.models import ContactDispute
from probes.verdicts import INCONCLUSIVE

# --- Letters ---------------------------------------------------------------


def letters_annotated(letters: QuerySet[Letter]) -> QuerySet[Letter]:
    """Adds the per-letter facts the conditions below read (EXISTS subqueries)."""
    responses = Response.objects.filter(letter=OuterRef("pk"))
    disputes = responses.filter(kind=Response.Kind.DISPUTE)
    better = RecipientAction.objects.filter(
        letter=OuterRef("pk"),
        action=RecipientAction.Action.DISPUTE,
        detail__has_key="better_contact",
    ).exclude(detail__better_contact="")
    return letters.annotate(
        has_bounce=Exists(responses.filter(kind=Response.Kind.BOUNCE)),
        has_answer=Exists(responses.filter(kind__in=HUMAN)),
        has_dispute=Exists(disputes),
        has_open_dispute=Exists(disputes.filter(handled_by__isnull=True)),
        has_better_contact=Exists(better),
    )


@dataclass(frozen=True)
class Set:
    """One named subset of a list: its label and its condition."""

    label: str | Promise  # lazy: shown in the reader's language
    condition: Q = field(default_factory=Q)


# Labels of counts ("12 sent"): the gettext context says what is counted
# (letters, hosts or responses), so a translation can agree with it.
LETTER_SETS: dict[str, Set] = {
    # The funnel
    "built": Set(pgettext_lazy("letters", "letters built")),
    "approved": Set(pgettext_lazy("letters", "approved"), ~Q(status=Letter.Status.DRAFT)),
    "sent": Set(pgettext_lazy("letters", "sent"), Q(sent_at__isnull=False)),
    "answered": Set(pgettext_lazy("letters", "answered"), Q(has_answer=True)),
    "fixed": Set(pgettext_lazy("letters", "fixed"), Q(outcome="fixed")),
    "partly_fixed": Set(pgettext_lazy("letters", "partly fixed"), Q(outcome="partly_fixed")),
    "not_fixed": Set(pgettext_lazy("letters", "not fixed"), Q(outcome="not_fixed")),
    "delivery_unknown": Set(
        pgettext_lazy("letters", "delivery unknown"), Q(outcome=DELIVERY_UNKNOWN)
    ),
    "bounced": Set(
        pgettext_lazy("letters", "bounced"), Q(has_bounce=True) | Q(status=Letter.Status.BOUNCED)
    ),
    "disputed": Set(pgettext_lazy("letters", "disputed"), Q(has_dispute=True)),
    # The work queues
    "to_approve": Set(pgettext_lazy("letters", "drafts to approve"), Q(status=Letter.Status.DRAFT)),
    "approved_unsent": Set(
        pgettext_lazy("letters", "approved but not sent"), Q(status=Letter.Status.APPROVED)
    ),
    "failed": Set(
        pgettext_lazy("letters", "failed sends"),
        Q(status=Letter.Status.FAILED) & ~Q(outcome=DELIVERY_UNKNOWN),
    ),
    # A hard bounce moves a letter to the next contact (back to draft); a
    # letter still marked bounced found none yet.
    "bounce_no_fallback": Set(
        pgettext_lazy("letters", "bounces awaiting a fallback"), Q(status=Letter.Status.BOUNCED)
    ),
    "dispute_better_contact": Set(
        pgettext_lazy("letters", "disputes with a suggested better contact"),
        Q(has_open_dispute=True, has_better_contact=True),
    ),
    "opted_out": Set(pgettext_lazy("letters", "opt-outs"), Q(contact__do_not_contact=True)),
    # One letter per contact and campaign: an open dispute from the recipient.
    # (probes.ContactDispute, sources disagreeing on a contact, is another queue.)
    "contact_disputed": Set(
        pgettext_lazy("letters", "open disputes from recipients"), Q(has_open_dispute=True)
    ),
}
LETTER_FUNNEL = ["built", "approved", "sent", "answered", "fixed"]
LETTER_OUTCOMES = ["partly_fixed", "not_fixed", "delivery_unknown", "bounced", "disputed"]
LETTER_QUEUES = [
    "to_approve",
    "approved_unsent",
    "failed",
    "bounce_no_fallback",
    "dispute_better_contact",
    "opted_out",
    "contact_disputed",
]


def letters_in(letters: QuerySet[Letter], key: str) -> QuerySet[Letter]:
    return letters_annotated(letters).filter(LETTER_SETS[key].condition)


# --- Hosts -----------------------------------------------------------------


def host_sets() -> dict[str, Set]:
    return {
        "imported": Set(pgettext_lazy("hosts", "imported")),
        "verified": Set(pgettext_lazy("hosts", "verified"), Q(last_probed_at__isnull=False)),
        "open_relays": Set(
            pgettext_lazy("hosts", "open relays"),
            Q(status__in=[Host.Status.OPEN_RELAY, Host.Status.FIXED]),
        ),
        "with_contact": Set(
            pgettext_lazy("hosts", "with contact"),
            Q(status__in=[Host.Status.OPEN_RELAY, Host.Status.FIXED], contact__isnull=False),
        ),
        # The verdicts a re-test cannot conclude on: still open, tried again later.
        "retest_inconclusive": Set(
            pgettext_lazy("hosts", "hosts whose re-test was inconclusive"),
            Q(status=Host.Status.OPEN_RELAY, last_verdict__in=sorted(INCONCLUSIVE)),
        ),
    }


HOST_FUNNEL = ["imported", "verified", "open_relays", "with_contact"]


def hosts_in(hosts: QuerySet[Host], key: str) -> QuerySet[Host]:
    return hosts.filter(host_sets()[key].condition)


# --- Responses -------------------------------------------------------------


def response_sets() -> dict[str, Set]:
    unhandled = Q(handled_by__isnull=True, kind__in=HUMAN)
    return {
        "unhandled": Set(pgettext_lazy("responses", "unhandled replies"), unhandled),
        # A hard bounce without a fallback contact needs a person.
        "hard_bounce": Set(
            pgettext_lazy("responses", "hard bounces"),
            Q(kind=Response.Kind.BOUNCE, severity="hard", handled_by__isnull=True),
        ),
    }


def responses_in(responses: QuerySet[Response], key: str) -> QuerySet[Response]:
    return responses.filter(response_sets()[key].condition)


# --- The home --------------------------------------------------------------


@dataclass(frozen=True)
class Count_:
    key: str
    label: str | Promise
    count: int
    url: str


# What each breakdown groups by, as a heading shows it.
BREAKDOWN_TITLES = {**BREAKDOWN_LABELS, "registry": _("registry")}


@dataclass(frozen=True)
class Breakdown:
    name: str
    rows: list[tuple[str, list[Count_]]]  # (group label, counts)
    columns: list[str | Promise]

    @property
    def title(self) -> str | Promise:
        """The translated name of what it groups by (``name`` stays the key)."""
        return BREAKDOWN_TITLES.get(self.name, self.name)


@dataclass
class Home:
    campaign: Campaign
    funnel: list[Count_]
    outcomes: list[Count_]
    queues: list[Count_]
    breakdowns: list[Breakdown]
    deadline: datetime.date | None
    days_left: int | None
    last_recheck: datetime.datetime | None
    next_recheck: datetime.datetime | None


def _url(model: str, campaign_id: int, **params: object) -> str:
    query = (
        {"campaign": campaign_id, **params}
        if model != "letter"
        else {
            "campaign__id__exact": campaign_id,
            **params,
        }
    )
    app = "outreach" if model == "host" else "letters"
    return reverse(f"admin:{app}_{model}_changelist") + "?" + urlencode(query)


def campaign_letters(*, user: object, campaign_id: int) -> QuerySet[Letter]:
    return Letter.objects.for_user(user).filter(campaign_id=campaign_id)


def campaign_hosts(*, user: object, campaign_id: int) -> QuerySet[Host]:
    # Through the campaign's host table: one indexed join, no DISTINCT needed.
    return Host.objects.for_user(user).filter(campaigns__id=campaign_id)


def campaign_responses(*, user: object, campaign_id: int) -> QuerySet[Response]:
    return Response.objects.for_user(user).filter(letter__campaign_id=campaign_id)


def _aggregate(queryset: QuerySet, sets: dict[str, Set], keys: list[str]) -> dict[str, int]:
    return queryset.aggregate(**{key: Count("pk", filter=sets[key].condition) for key in keys})


def campaign_home(*, user: object, campaign: Campaign) -> Home:
    """Everything the home shows, in one query per table plus the breakdowns."""
    cid = campaign.pk
    letters = letters_annotated(campaign_letters(user=user, campaign_id=cid))
    hosts = campaign_hosts(user=user, campaign_id=cid)
    responses = campaign_responses(user=user, campaign_id=cid)
    hsets, rsets = host_sets(), response_sets()
    letter_keys = LETTER_FUNNEL + LETTER_OUTCOMES + LETTER_QUEUES
    lcount = _aggregate(letters, LETTER_SETS, letter_keys)
    hcount = _aggregate(hosts, hsets, list(hsets))
    rcount = _aggregate(responses, rsets, list(rsets))

    def letter(key: str) -> Count_:
        url = _url("letter", cid, queue=key)
        return Count_(key, LETTER_SETS[key].label, lcount[key], url)

    def host(key: str) -> Count_:
        return Count_(key, hsets[key].label, hcount[key], _url("host", cid, queue=key))

    def response(key: str) -> Count_:
        return Count_(key, rsets[key].label, rcount[key], _url("response", cid, queue=key))

    queues = [letter(k) for k in LETTER_QUEUES[:4]]
    queues.append(response("unhandled"))
    queues += [letter(k) for k in LETTER_QUEUES[4:]]
    queues += [response(k) for k in rsets if k != "unhandled"]
    disputes = contact_disputes(user=user, campaign_id=cid)
    url = (
        reverse("admin:probes_contactdispute_changelist")
        + "?"
        + urlencode({"campaign": cid, "status__exact": "open"})
    )
    label = _("contacts in dispute")
    queues.append(Count_("contact_dispute", label, disputes.count(), url))
    queues.append(host("retest_inconclusive"))
    today = timezone.localdate()
    last = hosts.filter(status=Host.Status.OPEN_RELAY).aggregate(last=Max("last_probed_at"))["last"]
    deadline = campaign.remediation_deadline
    return Home(
        campaign=campaign,
        funnel=[host(k) for k in HOST_FUNNEL] + [letter(k) for k in LETTER_FUNNEL],
        outcomes=[letter(k) for k in LETTER_OUTCOMES],
        queues=queues,
        breakdowns=_breakdowns(letters, hosts, cid),
        deadline=deadline,
        days_left=(deadline - today).days if deadline else None,
        last_recheck=last,
        next_recheck=next_recheck(last),
    )


def contact_disputes(*, user: object, campaign_id: int) -> QuerySet[ContactDispute]:
    """Open disputes (sources naming different contacts) over this campaign's hosts."""
    ips = Host.objects.filter(campaigns__id=campaign_id).values("ip")
    return ContactDispute.objects.for_user(user).filter(status="open", ip__in=ips)


BREAKDOWN_COLUMNS = ["built", "sent", "answered", "fixed"]
LETTER_GROUPS: dict[str, tuple[str, str, Callable[[object], dict]]] = {
    # name: (group field, label field, list filter parameters for one group)
    "agency": ("agency_id", "agency__name", lambda v: {"agency__id__exact": v}),
    "country": ("contact__country", "contact__country", lambda v: {"country": v or "-"}),
    "language": ("language", "language", lambda v: {"language__exact": v}),
}


def _breakdowns(letters: QuerySet[Letter], hosts: QuerySet[Host], cid: int) -> list[Breakdown]:
    out = []
    for name, (group, label, params) in LETTER_GROUPS.items():
        counts = {k: Count("pk", filter=LETTER_SETS[k].condition) for k in BREAKDOWN_COLUMNS}
        rows = []
        for row in letters.values(group, label).annotate(**counts).order_by(label)[:100]:
            cells = [
                Count_(
                    k,
                    LETTER_SETS[k].label,
                    row[k],
                    _url("letter", cid, queue=k, **params(row[group])),
                )
                for k in BREAKDOWN_COLUMNS
            ]
            rows.append((row[label] or "—", cells))
        out.append(Breakdown(name, rows, [LETTER_SETS[k].label for k in BREAKDOWN_COLUMNS]))
    hsets = host_sets()
    host_columns = ["imported", "open_relays", "with_contact"]
    counts = {k: Count("pk", filter=hsets[k].condition) for k in host_columns}
    rows = []
    for row in (
        hosts.values("network__registry").annotate(**counts).order_by("network__registry")[:100]
    ):
        value = row["network__registry"] or ""
        cells = [
            Count_(k, hsets[k].label, row[k], _url("host", cid, queue=k, registry=value or "-"))
            for k in host_columns
        ]
        rows.append((value or "—", cells))
    out.append(Breakdown("registry", rows, [hsets[k].label for k in host_columns]))
    return out


def next_recheck(last: datetime.datetime | None) -> datetime.datetime | None:
    """When the open relays are due again: the last re-probe plus the beat interval.

    The beat task re-probes every open relay on that interval; with no open
    relay probed yet there is nothing to re-check.
    """
    entry = getattr(settings, "CELERY_BEAT_SCHEDULE", {}).get("probes-reverify-open-relays")
    seconds = entry.get("schedule") if entry else None
    if not isinstance(seconds, int | float) or seconds <= 0:
        return None
    if last is None:
        return None
    return last + datetime.timedelta(seconds=seconds)
