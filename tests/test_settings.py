"""The one settings.py: embedded default, production from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from outreach.env import database_from_url, env_bool, env_int, redact_url

ROOT = Path(__file__).resolve().parent.parent


def settings_in_subprocess(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    """Import settings in a clean interpreter with exactly this environment."""
    base = {"PATH": os.environ["PATH"], "OUTREACH_VAR_DIR": env.pop("VAR", "/tmp/outreach-var")}
    code = f"import json, outreach.settings as s; print(json.dumps([{expr}], default=str))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base | env, capture_output=True, text=True
    )


def test_it_defaults_to_sqlite_eager_tasks_and_file_mail(tmp_path):
    result = settings_in_subprocess(
        {"VAR": str(tmp_path)},
        "s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.DEBUG",
    )
    assert result.returncode == 0, result.stderr
    engine, eager, backend, debug = json.loads(result.stdout)
    assert engine == "django.db.backends.sqlite3"
    assert eager is True and debug is True
    assert backend.endswith("filebased.EmailBackend")


def test_it_uses_postgres_and_redis_from_the_environment(tmp_path):
    env = {
        "VAR": str(tmp_path),
        "DATABASE_URL": "postgres://outreach:s3cret@db.internal:6432/outreach",
        "REDIS_URL": "redis://cache.internal:6379/2",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "outreach.agency.example",
    }
    result = settings_in_subprocess(
        env, "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "django.db.backends.postgresql",
        "redis://cache.internal:6379/2",
        False,
    ]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"DATABASE_URL": "mysql://x/y", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "a"},
            "DATABASE_URL",
        ),
        ({"DATABASE_URL": "postgres://h/db", "ALLOWED_HOSTS": "a"}, "SECRET_KEY"),
        ({"DATABASE_URL": "postgres://h/db", "SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        # French letters, yes; a French admin, not yet: its catalog is not there.
        ({"SITE_LANGUAGE": "fr"}, "SITE_LANGUAGE"),
    ],
)
def test_it_refuses_to_start_on_a_bad_value_and_names_it(tmp_path, env, named):
    result = settings_in_subprocess({"VAR": str(tmp_path), **env}, "'started'")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_it_parses_a_postgres_url():
    config = database_from_url("postgres://u:p%40ss@127.0.0.1:5432/test?sslmode=disable")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == (
        "u",
        "p@ss",
        "127.0.0.1",
        "5432",
    )
    assert config["NAME"] == "test"
    assert config["OPTIONS"] == {"sslmode": "disable"}


def test_it_refuses_a_postgres_url_without_a_database():
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        database_from_url("postgres://127.0.0.1:5432/")


def test_it_hides_passwords_in_errors():
    assert redact_url("postgres://u:secret@h/db") == "postgres://u:***@h/db"


def test_it_reads_booleans_and_integers_strictly():
    assert env_bool("X", environ={"X": "yes"}) is True
    assert env_bool("X", default=True, environ={}) is True
    with pytest.raises(ImproperlyConfigured, match="X"):
        env_int("X", 1, environ={"X": "-3"}, minimum=0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PROBE_HELO_NAME", "probe.agency.example\r\nDATA"),
        ("PROBE_RCPT_DOMAIN", "not a domain"),
        ("PROBE_MAIL_FROM", "relay probe@agency.example"),
        ("PROBE_ALLOWED_NETWORKS", "127.0.0.0/8,loopback"),
        ("NEVER_CONTACT_NETWORKS", "192.0.2.0/24,not-a-network"),
    ],
)
def test_it_refuses_a_probe_identity_that_is_not_plain(tmp_path, name, value):
    result = settings_in_subprocess({"VAR": str(tmp_path), name: value}, "s.PROBE_HELO_NAME")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_it_accepts_the_default_probe_identity(tmp_path):
    result = settings_in_subprocess({"VAR": str(tmp_path)}, "s.PROBE_HELO_NAME, s.PROBE_MAIL_FROM")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "relay-probe.outreach.example",
        "relay-probe@outreach.example",
    ]


def test_a_management_command_prints_no_axes_banner(tmp_path):
    env = {"PATH": os.environ["PATH"], "OUTREACH_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "AXES: BEGIN" not in result.stdout + result.stderr
