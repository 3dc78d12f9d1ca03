"""Shared fixtures.

Tests that need a real service are marked (``postgres``, ``redis``). Locally
they skip with the reason; with CI=true a skipped service test fails, so CI
can never go green without having talked to the real services.
"""

from __future__ import annotations

import os

import pytest

from outreach.env import env_bool

# The outbox tests share their sink fixture.
pytest_plugins = ["tests.outbox_helpers"]

IN_CI = env_bool("CI", False)
SERVICE_MARKERS = {"postgres", "redis", "browser"}


def pytest_configure(config):
    from django.conf import settings

    # The test client and the live server speak plain HTTP. Middleware reads
    # this once when the first handler is built, so set it before any is.
    settings.SECURE_SSL_REDIRECT = False


def pytest_collection_modifyitems(config, items):
    # Browser tests run last: they are the slowest and need nothing after them.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and SERVICE_MARKERS & {m.name for m in item.iter_markers()}:
        report.outcome = "failed"
        report.longrepr = f"CI=true but a service test was skipped: {report.longrepr}"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Tests talk plain HTTP to the test client, and templates must fail loudly.
    settings.SECURE_SSL_REDIRECT = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LETTERS_BLOB_DIR = tmp_path / "blobs"
    # CI runs with DEBUG off, which would demand a TOTP code from every
    # investigator; the tests of the two-factor step switch it back on.
    settings.OUTREACH_OTP_REQUIRED = False
    # Factories hash a password for every user; production's PBKDF2 would
    # spend most of the suite's time there.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Recipient-domain buckets live in Redis under CI and outlive a test: only
    # the tests about rate limits turn them on (and reset them).
    settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 0
    # Test agencies send from documentation domains (.example), which only
    # lab mode allows; the tests of the routable-address rules turn it off.
    settings.LAB_MODE = True
    for engine in settings.TEMPLATES:
        engine.setdefault("OPTIONS", {})["string_if_invalid"] = "INVALID_TEMPLATE_VARIABLE<%s>"


def service_url(name: str) -> str:
    """The URL of a real service, or skip (locally) with a clear reason."""
    url = os.environ.get(name, "")
    if not url:
        pytest.skip(f"{name} is not set: export it to run this test against the real service")
    return url


@pytest.fixture
def redis_url() -> str:
    return service_url("REDIS_URL")


@pytest.fixture
def postgres_url() -> str:
    return service_url("DATABASE_URL")


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process even when REDIS_URL points at a real broker."""
    from outreach.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
