"""Campaign figures per agency, country or language: reads only.

Every figure starts from ``Letter.objects.for_user(user)``, so an agency's
dashboard and CSV export only ever count that agency's letters.

* built: letters that exist; approved: past the draft; sent: with a send time;
* bounced: a bounce came back (or the letter is marked bounced);
* answered: a person answered (reply, fixed-claim, dispute, opt-out, question;
  not auto-replies or bounces);
* fixed: the re-probe found every relay of the letter fixed;
* delivery unknown: the server may or may not have taken the letter (its
  reply after the data was lost, or the sending worker died); not resent;
* response and fix rates are out of the letters sent; days to fix runs from
  the letter's send time to each host's fixed time, as a median.
"""

from __future__ import annotations

import io
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, fields

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from letters.delivery import DELIVERY_UNKNOWN
from letters.models import Letter, Response
from letters.responses import HUMAN
from outreach.lib.csvsafe import SafeWriter
from outreach.models import Host
from probes import verdicts

BREAKDOWNS = {
    "agency": "agency__name",
    "country": "contact__country",
    "language": "language",
}
# The page's names for the breakdowns and the figures (the keys stay in URLs
# and in the CSV's header, which programs read).
BREAKDOWN_LABELS = {"agency": _("agency"), "country": _("country"), "language": _("language")}
FIGURE_LABELS = {
    "built": _("built"),
    "approved": _("approved"),
    "sent": _("sent"),
    "bounced": _("bounced"),
    "answered": _("answered"),
    "fixed": _("fixed"),
    "retest_inconclusive": _("re-test inconclusive"),
    "median_days_to_fix": _("median days to fix"),
    "delivery_unknown": _("delivery unknown"),
    "response_rate": _("response rate"),
    "fix_rate": _("fix rate"),
}


@dataclass
class Figures:
    """One row of the campaign home's table: an agency, a country, a language or the total."""

    label: str
    built: int = 0
    approved: int = 0
    sent: int = 0
    bounced: int = 0
    answered: int = 0
    fixed: int = 0
    # Letters with an open relay whose latest re-test proved nothing (it
    # refused us, timed out...): still not fixed, tried again later.
    retest_inconclusive: int = 0
    median_days_to_fix: float | None = None
    delivery_unknown: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def fix_rate(self) -> float | None:
        return self.fixed / self.sent if self.sent else None


COUNTS = [
    "built",
    "approved",
    "sent",
    "bounced",
    "answered",
    "fixed",
    "retest_inconclusive",
    "delivery_unknown",
]


def campaign_letters(*, user: object, campaign_id: int) -> QuerySet[Letter]:
    return Letter.objects.for_user(user).filter(campaign_id=campaign_id)


def campaign_figures(*, user: object, campaign_id: int, by: str = "agency") -> list[Figures]:
    """One row per group, sorted by label, then a "Total" row."""
    field = BREAKDOWNS[by]
    letters = campaign_letters(user=user, campaign_id=campaign_id)
    rows = [
        Figures(label=row.pop("group") or "—", **row)
        for row in _counted(letters, field).order_by("group")
    ]
    medians = _median_days_to_fix(letters, field)
    for row in rows:
        row.median_days_to_fix = medians.get(row.label)
    return [*rows, _total(rows, medians.get(None))]


def _counted(letters: QuerySet[Letter], field: str) -> QuerySet:
    responses = Response.objects.filter(letter=OuterRef("pk"))
    # Uncorrelated, so the database hashes it once: such hosts are few.
    inconclusive = Letter.hosts.through.objects.filter(
        host__status=Host.Status.OPEN_RELAY, host__last_verdict__in=verdicts.INCONCLUSIVE
    ).values("letter_id")
    annotated = letters.annotate(
        has_bounce=Exists(responses.filter(kind=Response.Kind.BOUNCE)),
        has_answer=Exists(responses.filter(kind__in=HUMAN)),
    )
    return annotated.values(group=F(field)).annotate(
        built=Count("id"),
        approved=Count("id", filter=~Q(status=Letter.Status.DRAFT)),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        bounced=Count("id", filter=Q(has_bounce=True) | Q(status=Letter.Status.BOUNCED)),
        answered=Count("id", filter=Q(has_answer=True)),
        fixed=Count("id", filter=Q(outcome="fixed")),
        retest_inconclusive=Count("id", filter=Q(id__in=inconclusive)),
        delivery_unknown=Count(
            "id", filter=Q(status=Letter.Status.FAILED, outcome=DELIVERY_UNKNOWN)
        ),
    )


def _median_days_to_fix(letters: QuerySet[Letter], field: str) -> dict[str | None, float]:
    """Median per group label, and under None the median over everything."""
    pairs = letters.filter(
        sent_at__isnull=False, hosts__fixed_at__isnull=False, hosts__fixed_at__gte=F("sent_at")
    ).values_list(field, "sent_at", "hosts__fixed_at")
    days: dict[str | None, list[float]] = defaultdict(list)
    for group, sent_at, fixed_at in pairs.iterator():
        value = (fixed_at - sent_at).total_seconds() / 86400
        days[group or "—"].append(value)
        days[None].append(value)
    return {group: round(statistics.median(values), 1) for group, values in days.items()}


def _total(rows: list[Figures], median: float | None) -> Figures:
    total = Figures(label=gettext("Total"), median_days_to_fix=median)
    for name in COUNTS:
        setattr(total, name, sum(getattr(row, name) for row in rows))
    return total


def figures_csv(rows: list[Figures], *, breakdown: str) -> str:
    """CSV text; labels come from WHOIS, so formula starters are neutralised."""
    out = io.StringIO()
    writer = SafeWriter(out)
    names = [f.name for f in fields(Figures)]
    writer.writerow(
        [breakdown if n == "label" else n for n in names] + ["response_rate", "fix_rate"]
    )
    for row in rows:
        values = asdict(row)
        rates = [_rate(row.response_rate), _rate(row.fix_rate)]
        writer.writerow([values[n] for n in names] + rates)
    return out.getvalue()


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"
