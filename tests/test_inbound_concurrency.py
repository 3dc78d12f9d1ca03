"""Two worker processes ingest the same mbox on PostgreSQL: each message is stored once."""

from __future__ import annotations

import mailbox
import multiprocessing
from pathlib import Path

import pytest
from django.db import connection, connections

from letters.models import Response
from tests.test_inbound_robust import good

CORPUS = Path(__file__).parent / "fixtures" / "mail"


def _ingest(path: str, barrier: multiprocessing.Barrier, out: multiprocessing.Queue) -> None:
    # A forked child opens its own connection to the same test database.
    connections.close_all()
    from letters.inbound import mail_paths_ingest

    barrier.wait(timeout=30)
    report = mail_paths_ingest(paths=[Path(path)])
    out.put((report["stored"], report["duplicates"]))
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_processes_ingesting_one_mbox_store_each_message_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the race is between PostgreSQL sessions")
    path = tmp_path / "shared.mbox"
    box = mailbox.mbox(path)
    for index in range(25):
        box.add(good(f"reply {index}"))
    # Bounces without a Message-ID are known by the digest of their bytes.
    qmail = (CORPUS / "flufl" / "qmail_01.txt").read_bytes()
    box.add(b"\n".join(line for line in qmail.splitlines() if not line.startswith(b"Message-")))
    box.add((CORPUS / "flufl" / "postfix_01.txt").read_bytes())
    box.close()

    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(2), context.Queue()
    connections.close_all()
    workers = [context.Process(target=_ingest, args=(str(path), barrier, out)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    results = [out.get(timeout=5) for _ in workers]

    assert all(worker.exitcode == 0 for worker in workers)
    assert sum(stored for stored, _ in results) == 27
    assert sum(duplicates for _, duplicates in results) == 27
    assert Response.objects.count() == 27
    assert Response.objects.filter(kind=Response.Kind.BOUNCE).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_rows_stored_before_it_their_message_id_as_identity():
    from django.db.migrations.executor import MigrationExecutor

    before = [("letters", "0007_letter_text_fallbacks")]
    after = [("letters", "0008_response_inbound_classification")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("letters", "Response")
        for message_id in ("<a@x.example>", "<a@x.example>", "<b@x.example>", ""):
            old.objects.create(channel="email", message_id=message_id)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        identities = sorted(Response.objects.values_list("identity", flat=True))
    finally:
        # Back to the latest schema: the tests after this one need it.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert identities == ["", "", "<a@x.example>", "<b@x.example>"]
    from letters.inbound import _already_stored

    assert _already_stored("<a@x.example>", "")
