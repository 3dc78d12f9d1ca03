"""RDAP settings: parsed at start-up, a bad value names its variable."""

from __future__ import annotations

import json

import pytest

from tests.test_settings import settings_in_subprocess


def test_it_reads_rate_limits_routes_and_national_contacts(tmp_path):
    result = settings_in_subprocess(
        {
            "VAR": str(tmp_path),
            "RDAP_RATE_LIMITS": "lacnic=6/60, ripe=700/86400",
            "RDAP_AGENCY_ROUTES": "gb=ico",
            "RDAP_NATIONAL_CONTACTS": "jp=incident@cert.example",
        },
        "s.RDAP_RATE_LIMITS, s.RDAP_AGENCY_ROUTES, s.RDAP_NATIONAL_CONTACTS, s.RDAP_CACHE_DAYS",
    )
    assert result.returncode == 0, result.stderr
    rates, routes, national, days = json.loads(result.stdout)
    assert rates == {"lacnic": [6.0, 0.1], "ripe": [700.0, 700 / 86400]}
    assert routes == {"GB": "ico"}
    assert national == {"JP": "incident@cert.example"}
    assert days == 30


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RDAP_RATE_LIMITS", "lacnic=ten/60", "RDAP_RATE_LIMITS: 'ten/60' is not COUNT/SECONDS"),
        ("RDAP_RATE_LIMITS", "lacnic=6/0", "is not COUNT/SECONDS"),
        ("RDAP_AGENCY_ROUTES", "GB", "RDAP_AGENCY_ROUTES: 'GB' is not KEY=VALUE"),
        ("RDAP_CACHE_DAYS", "0", "RDAP_CACHE_DAYS=0 must be at least 1"),
        ("RDAP_ASN_DNS", "localhost", "RDAP_ASN_DNS='localhost': use system or host:port"),
    ],
)
def test_it_stops_on_a_bad_rdap_setting(tmp_path, name, value, message):
    result = settings_in_subprocess({"VAR": str(tmp_path), name: value}, "1")
    assert result.returncode != 0
    assert message in result.stderr
