"""Probe tasks: in-process by default, a real Celery worker on Redis in CI."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from lab.smtp import Lab
from outreach.celery import app
from outreach.models import Host
from probes import smtp, tasks
from probes.models import Probe
from tests.factories import HostFactory


@pytest.fixture
def lab_map(settings, tmp_path):
    lab = Lab(network=79).start()
    settings.LAB_MODE = True
    settings.LAB_HOST_MAP = str(tmp_path / "lab-map.json")
    settings.PROBE_DEADLINE = 5

    def make(behaviours: list[str]) -> list[Host]:
        hosts = [HostFactory() for _ in behaviours]
        lab.hosts_add(behaviours)
        mapping = lab.host_map([h.ip for h in hosts])
        (tmp_path / "lab-map.json").write_text(json.dumps(mapping))
        return hosts

    yield make
    lab.stop()
    assert lab.data_attempts() == 0


@pytest.mark.django_db
def test_it_runs_a_batch_in_process_on_the_embedded_default(lab_map):
    if not app.conf.task_always_eager:
        pytest.skip("REDIS_URL is set: tasks go to real workers here")
    hosts = lab_map(["open", "greylist"])
    rows = tasks.hosts_verify_batch.delay([h.id for h in hosts]).get()
    assert [r["verdict"] for r in rows] == [smtp.OPEN_RELAY, smtp.TEMP_FAILURE]
    # No clock in-process: greylisted hosts are not retried there.
    assert Probe.objects.count() == 2


@pytest.mark.django_db
def test_it_schedules_greylisted_hosts_again_with_backoff(lab_map, monkeypatch, settings):
    # Only what is sent is replaced: the probe and the records are real.
    settings.PROBE_TEMP_RETRY_DELAY = 300
    hosts = lab_map(["greylist", "closed"])
    sent = []
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(tasks.hosts_verify_batch, "apply_async", lambda **kw: sent.append(kw))
    tasks.hosts_verify_batch.run([h.id for h in hosts], attempt=1)
    assert sent == [{"args": [[hosts[0].id], 25, False, 2, None], "countdown": 600}]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_probe_batch_on_a_real_worker(redis_url, lab_map):
    hosts = lab_map(["open", "closed", "auth"])
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = tasks.hosts_verify_batch.delay([h.id for h in hosts])
        rows = result.get(timeout=60)
    assert [r["verdict"] for r in rows] == [smtp.OPEN_RELAY, smtp.NOT_RELAY, smtp.AUTH_REQUIRED]
    statuses = dict(Host.objects.values_list("id", "status"))
    assert [statuses[h.id] for h in hosts] == ["open_relay", "not_relay", "not_relay"]
    assert Probe.objects.count() == 3


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_verifies_through_the_workers_when_redis_is_set(redis_url, lab_map, settings):
    hosts = lab_map(["open", "closed"])
    settings.REDIS_URL = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    out = StringIO()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        call_command("verify_relays", "--ip", *[h.ip for h in hosts], "--json", stdout=out)
    *rows, summary = [json.loads(line) for line in out.getvalue().splitlines()]
    assert summary == {"summary": True, "hosts": 2, "verdicts": {"not_relay": 1, "open_relay": 1}}
    assert sorted(r["verdict"] for r in rows) == [smtp.NOT_RELAY, smtp.OPEN_RELAY]
    assert Probe.objects.count() == 2
