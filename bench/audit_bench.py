"""Audited bulk approval: outreach.audit.audit_update against save() per letter.

Approving a campaign's letters must leave one audit record per letter. The
naive way saves each letter so auditlog's signals record it; audit_update
does one UPDATE and bulk-inserts the records.
"""

from __future__ import annotations

from bench.common import Measure, Row, setup_django, timed, versus

LETTERS = 5000


def _world() -> tuple[object, object]:
    from letters.models import Letter
    from outreach.models import Agency, Campaign, Contact

    Letter.objects.filter(campaign__slug="audit-bench").delete()
    Campaign.objects.filter(slug="audit-bench").delete()
    agency, _ = Agency.objects.get_or_create(
        code="bench-audit", defaults={"name": "Bench agency", "country": "US"}
    )
    campaign = Campaign.objects.create(name="Audit bench", slug="audit-bench", lead_agency=agency)
    Contact.objects.filter(email__endswith="@audit-bench.example").delete()
    contacts = Contact.objects.bulk_create(
        Contact(email=f"abuse{n}@audit-bench.example", agency=agency) for n in range(LETTERS)
    )
    Letter.objects.bulk_create(
        Letter(campaign=campaign, agency=agency, contact=c, reply_token=f"audit-bench-{c.pk}")
        for c in contacts
    )
    return agency, campaign


def _reset(campaign: object) -> None:
    from auditlog.models import LogEntry

    from letters.models import Letter

    Letter.objects.filter(campaign=campaign).update(status=Letter.Status.DRAFT)
    LogEntry.objects.filter(content_type__model="letter").delete()


def run() -> list[Row]:
    setup_django()
    from auditlog.models import LogEntry
    from django.db import transaction

    from letters.models import Letter
    from outreach.audit import audit_update

    _agency, campaign = _world()
    letters = Letter.objects.filter(campaign=campaign)
    _reset(campaign)
    with timed() as naive, transaction.atomic():
        for letter in letters.iterator(chunk_size=2000):
            letter.status = Letter.Status.APPROVED
            letter.save(update_fields=["status"])
    naive_count = LogEntry.objects.filter(content_type__model="letter").count()
    _reset(campaign)
    with timed() as bulk:
        audit_update(actor=None, queryset=letters, event="approve", status="approved")
    bulk_count = LogEntry.objects.filter(content_type__model="letter").count()
    _reset(campaign)
    assert naive_count == bulk_count == LETTERS, (naive_count, bulk_count)
    figure = f"approve {LETTERS:,} letters, one audit record each"
    one_update = Measure(bulk(), "s", digits=2)
    per_letter = Measure(naive(), "s", "save() per letter", digits=2)
    return [versus(figure, "< 2 s", one_update, per_letter, ok=bulk() < 2)]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
