"""The admin with 1,000,000 hosts and 100,000 letters (PostgreSQL).

Measures the median response time of the host changelist filtered by status
and searched by IP, and of the agency dashboard when it exists, through the
Django test client as a superuser. The baseline is the same changelist
configured naively: a full result count and a substring search on IP.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import time
from collections.abc import Iterable, Iterator

from bench.common import Row, setup_django

HOSTS = 1_000_000
LETTERS = 100_000
REQUESTS = 15


def copy_rows(model: type, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY rows into a model's table, filling every other column's default."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    extra = [f for f in fields if f.column not in columns and not f.null]
    defaults = tuple(_copy_value(f.get_default()) for f in extra)
    names = ", ".join([*columns, *(f.column for f in extra)])
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *defaults))


def _copy_value(value: object) -> object:
    import json

    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def host_rows(agency_ids: list[int]) -> Iterator[tuple]:
    from django.utils import timezone

    now = timezone.now()
    statuses = ["suspected"] * 6 + ["open_relay"] * 2 + ["not_relay", "unreachable"]
    for n in range(HOSTS):
        # 10.x addresses are never contacted: this is a local database only.
        ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        yield (ip, statuses[n % 10], "", "US", 64496 + n % 100, "", "", agency_ids[n % 3], now)


def populate() -> None:
    from django.db import connection

    from letters.models import Letter
    from outreach.models import Agency, Campaign, Contact, Host

    if Host.objects.count() >= HOSTS and Letter.objects.count() >= LETTERS:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE outreach_host, outreach_contact, letters_letter, outreach_campaign,"
            " outreach_agency RESTART IDENTITY CASCADE"
        )
    agencies = [Agency.objects.create(name=f"A{n}", code=f"a{n}", country="US") for n in range(3)]
    ids = [a.id for a in agencies]
    campaign = Campaign.objects.create(name="Bench", slug="bench", lead_agency=agencies[0])
    copy_rows(Host, _host_columns(), host_rows(ids))
    copy_rows(
        Contact,
        ["email", "organisation", "country", "agency_id", "created_at"],
        ((f"abuse{n}@isp{n}.example", f"ISP {n}", "US", ids[n % 3], "now") for n in range(LETTERS)),
    )
    first_contact = Contact.objects.order_by("id").values_list("id", flat=True).first()
    copy_rows(
        Letter,
        ["campaign_id", "agency_id", "contact_id", "status", "reply_token", "created_at"],
        (
            (campaign.id, ids[n % 3], first_contact + n, "draft", f"{n:032x}", "now")
            for n in range(LETTERS)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _host_columns() -> list[str]:
    return [
        "ip", "status", "last_verdict", "country", "asn", "ptr", "contact_rule",
        "agency_id", "created_at",
    ]  # fmt: skip


def median_ms(client: object, url: str) -> float:
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings)


def measure() -> dict[str, float]:
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from outreach.models import Campaign, Host

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)
    changelist = reverse("admin:outreach_host_changelist")
    results = {
        "filter": median_ms(client, changelist + "?status__exact=open_relay"),
        "search": median_ms(client, changelist + "?q=10.3.2.1"),
    }
    with contextlib.suppress(NoReverseMatch):
        campaign_id = Campaign.objects.get(slug="bench").id
        dashboard = reverse("admin:campaign_dashboard", args=[campaign_id])
        results["dashboard"] = median_ms(client, dashboard)
    # The naive admin: full result count, a substring search on the IP text
    # and no IP-aware search.
    host_admin = admin.site._registry[Host]
    host_admin.show_full_result_count, host_admin.search_fields = True, ["ip"]
    host_admin.get_search_results = functools.partial(
        admin.ModelAdmin.get_search_results, host_admin
    )
    results["naive_filter"] = median_ms(client, changelist + "?status__exact=open_relay")
    results["naive_search"] = median_ms(client, changelist + "?q=10.3.2.1")
    return results


def run() -> list[Row]:
    setup_django()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.SECURE_SSL_REDIRECT = False
    settings.DEBUG = False
    # The bench user has no second factor; 2FA is not what is measured here.
    settings.OUTREACH_OTP_REQUIRED = False
    started = time.perf_counter()
    populate()
    print(f"populated in {time.perf_counter() - started:.1f} s")
    r = measure()
    rows = [
        Row(
            "admin: host changelist, filtered (1M hosts)",
            "< 300 ms median",
            f"{r['filter']:.0f} ms",
            f"{r['naive_filter']:.0f} ms (full count)",
            f"{r['naive_filter'] / r['filter']:.1f}x",
            r["filter"] < 300,
        ),
        Row(
            "admin: host changelist, search by IP",
            "< 300 ms median",
            f"{r['search']:.0f} ms",
            f"{r['naive_search']:.0f} ms (substring)",
            f"{r['naive_search'] / r['search']:.1f}x",
            r["search"] < 300,
        ),
    ]
    if "dashboard" in r:
        rows.append(
            Row(
                "admin: dashboard (100k letters)",
                "< 300 ms median",
                f"{r['dashboard']:.0f} ms",
                ok=r["dashboard"] < 300,
            )
        )
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
