"""Fault tolerance with real worker processes on Redis and PostgreSQL.

A Celery worker (prefork, one child) runs in its own process. The tests kill
its child with SIGKILL in the middle of a probe batch or a send; the parent
sees the loss and, because our tasks are acks_late with
task_reject_on_worker_lost, the batch is delivered again to a fresh child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings

from lab.mailsink import MailSink
from lab.smtp import Lab
from letters.models import Letter
from letters.outbox import DELIVERY_UNKNOWN, outbox_recover
from outreach.celery import app
from outreach.models import Host
from tests.factories import HostFactory, LetterFactory
from tests.outbox_helpers import sink_campaign

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def wait_for(condition, limit: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {limit} s")
        time.sleep(0.05)


def pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


@pytest.fixture
def worker(postgres_url, redis_url):
    """Start a real Celery worker against the test database; yield its process."""
    if app.conf.task_always_eager:
        pytest.skip("REDIS_URL is not set: tasks run in-process")
    app.control.purge()  # other tests may have left tasks on the queue
    name = django_settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}")),
        "PROBE_ALLOWED_NETWORKS": "127.0.0.0/8",
        "OUTBOX_DOMAIN_RATE_PER_MINUTE": "0",
        "OUTBOX_BATCH_SIZE": "4",
        # The test agencies send from .example domains: lab mode only.
        "LAB_MODE": "true",
        "LAB_MODE_WITH_DATABASE": "true",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "outreach", "worker", "--pool", "prefork",
        "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
        "--hostname", f"fault-{os.getpid()}@localhost",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_for(lambda: pool_children(process.pid), what="the worker's pool child")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_every_host_gets_a_verdict_when_a_worker_child_is_killed_mid_batch(worker):
    from probes.tasks import hosts_verify_enqueue

    with Lab(latency=0.05) as lab:
        behaviours = ["open"] * 6 + ["closed"] * 10
        lab_hosts = lab.hosts_add(behaviours)
        hosts = [HostFactory(ip=h.ip) for h in lab_hosts]
        hosts_verify_enqueue(host_ids=[h.id for h in hosts], port=lab.port)
        # Kill the child once it is talking to the lab, well before it is done.
        wait_for(lambda: sum(h.connections for h in lab.hosts.values()) >= 4, what="probing")
        first_child = pool_children(worker.pid)[0]
        os.kill(first_child, signal.SIGKILL)
        wait_for(
            lambda: not Host.objects.filter(last_verdict="").exists(),
            limit=120,
            what="a verdict for every host",
        )
        assert lab.data_attempts() == 0
    verdicts = dict(Host.objects.values_list("ip", "last_verdict"))
    expected = {
        h.ip: ("open_relay" if b == "open" else "not_relay")
        for h, b in zip(lab_hosts, behaviours, strict=True)
    }
    assert verdicts == expected
    assert first_child not in pool_children(worker.pid)


def test_no_letter_is_sent_twice_or_lost_when_a_worker_child_is_killed_mid_send(worker):
    from letters.tasks import letters_send_task

    with MailSink(delay=0.03) as sink:
        campaign = sink_campaign(sink, connections=2)
        LetterFactory.create_batch(30, campaign=campaign, status=Letter.Status.APPROVED)
        letters_send_task.delay(campaign.id)
        wait_for(lambda: len(sink.received) >= 6, what="sending")
        os.kill(pool_children(worker.pid)[0], signal.SIGKILL)
        # The redelivered task claims only what is still sendable; the dead
        # child's claims are closed as "delivery unknown", never resent blindly.
        wait_for(
            lambda: not Letter.objects.filter(status=Letter.Status.APPROVED).exists(),
            limit=120,
            what="every approved letter claimed",
        )
        wait_for(
            lambda: Letter.objects.filter(status=Letter.Status.SENDING).count() <= 8,
            limit=60,
            what="the live claims finishing",
        )
        outbox_recover(older_than=timedelta(0))
        received = Counter(r.message_id for r in sink.received)
    assert max(received.values()) == 1
    states = Counter(Letter.objects.values_list("status", "outcome"))
    assert set(states) <= {(Letter.Status.SENT, ""), (Letter.Status.FAILED, DELIVERY_UNKNOWN)}
    assert sum(states.values()) == 30
    sent = set(Letter.objects.filter(status="sent").values_list("message_id", flat=True))
    assert sent <= set(received)


REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def redis_restart(redis_url: str) -> None:
    """Stop the machine's Redis (losing every queued task) and start it again."""
    if urlsplit(redis_url).port not in (None, 6379) or not Path("/var/lib/redis").is_dir():
        pytest.skip("restarts only the machine's own Redis on 127.0.0.1:6379")
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)
    wait_for(lambda: subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True)
             .returncode != 0, limit=10, what="Redis stopping")  # fmt: skip
    subprocess.run(REDIS_START, check=True)
    wait_for(lambda: subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True)
             .stdout.strip() == b"PONG", limit=10, what="Redis starting")  # fmt: skip


def test_a_verification_run_completes_when_redis_restarts_mid_run(worker, redis_url, settings):
    from probes.verify_run import hosts_verify_run

    settings.PROBE_BATCH_SIZE = 2
    with Lab(latency=0.05) as lab:
        lab_hosts = lab.hosts_add(["open", "closed"] * 6)
        ids = [HostFactory(ip=h.ip).id for h in lab_hosts]
        thread_result: dict = {}

        def run() -> None:
            from django.db import connection

            try:
                thread_result.update(
                    hosts_verify_run(host_ids=ids, port=lab.port, stall_seconds=5, poll_seconds=0.2)
                )
            finally:
                connection.close()

        import threading

        runner = threading.Thread(target=run)
        runner.start()
        # Restart once the first batch is done and the rest wait on the queue.
        wait_for(lambda: Host.objects.exclude(last_verdict="").exists(), what="a first verdict")
        redis_restart(redis_url)
        runner.join(timeout=120)
        assert not runner.is_alive()
        assert lab.data_attempts() == 0
    assert (thread_result["verified"], thread_result["missing"]) == (12, 0)
    assert not Host.objects.filter(last_verdict="").exists()
