"""Shared helpers for the letter tests: compiled catalogs and a letter with relays."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.translation import trans_real

from letters.models import Letter
from outreach.models import Host
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    HostFactory,
    LetterFactory,
    NetworkFactory,
    ProbeFactory,
)


def _compile_catalogs() -> None:
    """What `make messages` does, for test runs that did not go through make."""
    compiled = False
    for po_file in Path(settings.BASE_DIR, "locale").glob("*/LC_MESSAGES/django.po"):
        mo_file = po_file.with_suffix(".mo")
        if not mo_file.exists() or mo_file.stat().st_mtime < po_file.stat().st_mtime:
            subprocess.run(["msgfmt", "--check", "-o", str(mo_file), str(po_file)], check=True)
            compiled = True
    if compiled:
        # Django caches catalogs per process; drop them so the new .mo files load.
        trans_real._translations = {}
        trans_real._default = None


@pytest.fixture(scope="session")
def compiled_catalogs() -> None:
    _compile_catalogs()


def letter_with_relays(*, hosts: int = 1, language: str = "en", transcript: str = "", **kw):
    """A letter over `hosts` open relays, each with a finished probe."""
    campaign = kw.pop("campaign", None) or CampaignFactory()
    contact = kw.pop("contact", None) or ContactFactory()
    letter = LetterFactory(campaign=campaign, contact=contact, language=language, **kw)
    network = NetworkFactory()
    for _ in range(hosts):
        host = HostFactory(status=Host.Status.OPEN_RELAY, contact=contact, network=network)
        campaign.hosts.add(host)
        ProbeFactory(
            host=host,
            finished_at=timezone.now(),
            transcript=transcript or "S: 220 relay.isp.example ESMTP\nC: EHLO probe.example\n",
        )
        letter.hosts.add(host)
    return letter


def reloaded(letter: Letter) -> Letter:
    """The letter and its contact as the database has them now (after ingesting mail)."""
    letter.refresh_from_db()
    letter.contact.refresh_from_db()
    return letter
