from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from letters.dashboard import campaign_figures, figures_csv
from letters.models import Letter, Response
from outreach.charts import Series, bar_chart_svg
from outreach.models import Membership
from tests.campaign_helpers import lead_and_partner_campaign
from tests.factories import (
    AgencyFactory,
    CampaignFactory,
    ContactFactory,
    HostFactory,
    LetterFactory,
    MembershipFactory,
    ResponseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    """FTC: 4 letters (1 draft, 3 sent: one bounced, one answered and fixed
    in 4 days, one auto-replied). ACCC (partner): 2 letters, 1 sent, fixed in 10 days."""
    campaign, ftc, accc = lead_and_partner_campaign()
    sent = timezone.now() - timedelta(days=20)
    LetterFactory(campaign=campaign, agency=ftc, status=Letter.Status.DRAFT)
    bounced = sent_letter(campaign, ftc, sent, status=Letter.Status.BOUNCED)
    ResponseFactory(letter=bounced, kind=Response.Kind.BOUNCE)
    fixed = sent_letter(campaign, ftc, sent, outcome="fixed", language="fr")
    ResponseFactory(letter=fixed, kind=Response.Kind.FIXED_CLAIM)
    fixed.hosts.add(HostFactory(status="fixed", fixed_at=sent + timedelta(days=4)))
    auto = sent_letter(campaign, ftc, sent)
    ResponseFactory(letter=auto, kind=Response.Kind.AUTO_REPLY)
    LetterFactory(campaign=campaign, agency=accc, status=Letter.Status.APPROVED)
    far = sent_letter(campaign, accc, sent, outcome="fixed", country="AU")
    far.hosts.add(HostFactory(status="fixed", fixed_at=sent + timedelta(days=10)))
    return campaign


def sent_letter(campaign, agency, sent, country="US", **kwargs):
    kwargs.setdefault("status", Letter.Status.SENT)
    return LetterFactory(
        campaign=campaign,
        agency=agency,
        sent_at=sent,
        contact=ContactFactory(country=country),
        **kwargs,
    )


def superuser():
    return UserFactory(is_superuser=True)


def as_dict(rows):
    return {row.label: row for row in rows}


def test_it_counts_each_agencys_letters(campaign):
    rows = as_dict(campaign_figures(user=superuser(), campaign_id=campaign.id))
    ftc, accc, total = rows["FTC"], rows["ACCC"], rows["Total"]
    assert (ftc.built, ftc.approved, ftc.sent, ftc.bounced, ftc.answered, ftc.fixed) == (
        4,
        3,
        3,
        1,
        1,
        1,
    )
    assert (accc.built, accc.approved, accc.sent, accc.fixed) == (2, 2, 1, 1)
    assert ftc.response_rate == pytest.approx(1 / 3)
    assert ftc.fix_rate == pytest.approx(1 / 3)
    assert (ftc.median_days_to_fix, accc.median_days_to_fix) == (4.0, 10.0)
    assert (total.built, total.sent, total.median_days_to_fix) == (6, 4, 7.0)


def test_it_breaks_down_by_country_and_language(campaign):
    by_country = as_dict(campaign_figures(user=superuser(), campaign_id=campaign.id, by="country"))
    assert (by_country["AU"].sent, by_country["US"].sent) == (1, 3)
    by_language = as_dict(
        campaign_figures(user=superuser(), campaign_id=campaign.id, by="language")
    )
    assert (by_language["fr"].built, by_language["en"].built) == (1, 5)


def test_a_partner_agency_only_counts_its_own_letters(campaign):
    user = MembershipFactory(agency__code="accc", role=Membership.Role.COORDINATOR).user
    rows = as_dict(campaign_figures(user=user, campaign_id=campaign.id))
    assert set(rows) == {"ACCC", "Total"}
    assert rows["Total"].built == 2


def test_the_csv_has_one_line_per_group_and_defuses_formulas():
    from letters.dashboard import Figures

    text = figures_csv([Figures(label="=HYPERLINK(1)", built=2, sent=1)], breakdown="country")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["country", "built", "approved"]
    assert lines[1][0] == "'=HYPERLINK(1)"
    assert lines[1][-2:] == ["0.000", "0.000"]


def test_the_svg_escapes_labels_from_whois():
    svg = bar_chart_svg(
        title="t", labels=["<script>alert(1)</script>"], series=[Series("sent", "#000", [3])]
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def staff(agency_code, role=Membership.Role.COORDINATOR):
    user = MembershipFactory(agency__code=agency_code, role=role).user
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    return user


def test_the_admin_page_shows_figures_and_a_chart(client, campaign):
    client.force_login(staff("ftc", Membership.Role.INVESTIGATOR))
    page = client.get(f"/admin/outreach/campaign/{campaign.id}/dashboard/?by=country")
    assert page.status_code == 200
    assert b"<svg" in page.content
    assert b"Median days to fix" in page.content
    export = client.get(f"/admin/outreach/campaign/{campaign.id}/dashboard.csv?by=agency")
    assert export["Content-Type"] == "text/csv"
    assert export.content.decode().splitlines()[0].startswith("agency,built")


def test_the_admin_page_is_not_found_for_another_agencys_campaign(client, campaign):
    other = CampaignFactory(lead_agency=AgencyFactory(code="sec"))
    client.force_login(staff("accc"))
    assert client.get(f"/admin/outreach/campaign/{other.id}/dashboard/").status_code == 404
    assert client.get(f"/admin/outreach/campaign/{other.id}/dashboard.csv").status_code == 404
    page = client.get(f"/admin/outreach/campaign/{campaign.id}/dashboard.csv")
    assert "FTC" not in page.content.decode()


def test_a_relay_that_refused_its_retest_counts_as_inconclusive_never_as_fixed(campaign):
    ftc = campaign.lead_agency
    sent = timezone.now() - timedelta(days=20)
    letter = sent_letter(campaign, ftc, sent, outcome="not_fixed")
    letter.hosts.add(HostFactory(status="open_relay", last_verdict="refused"))
    rows = as_dict(campaign_figures(user=superuser(), campaign_id=campaign.id))
    assert (rows["FTC"].fixed, rows["FTC"].retest_inconclusive) == (1, 1)
    assert (rows["Total"].fixed, rows["Total"].retest_inconclusive) == (2, 1)
