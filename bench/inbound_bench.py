"""Inbound mail: the real corpus through ``mail_paths_ingest`` on PostgreSQL.

An mbox of the real messages of ``tests/fixtures/mail`` repeated (each
copy under a fresh Message-ID) goes through the whole ingest path:
classification, letter matching, one savepoint per message, the identity
constraint. The baseline, timed on the same messages in the same run, is
what version 1 relied on alone: flufl.bounce's scan of each parsed message,
with no storage at all. The ratio says what the whole path costs on top.
"""

from __future__ import annotations

import contextlib
import json
import mailbox
import re
import tempfile
from email import message_from_bytes
from pathlib import Path

from bench.common import Measure, Row, setup_django, timed, versus

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mail"
COPIES = 8


def _messages() -> list[bytes]:
    samples = json.loads((CORPUS / "expected.json").read_text())
    raws = [(CORPUS / s["file"]).read_bytes() for s in samples]
    out = []
    for copy in range(COPIES):
        for index, raw in enumerate(raws):
            fresh = f"Message-ID: <bench.{copy}.{index}@inbound.bench>".encode()
            body = re.sub(rb"(?im)^message-id:[^\n]*\n", b"", raw, count=1)
            out.append(fresh + b"\n" + body.lstrip())
    return out


def run() -> list[Row]:
    setup_django()
    from flufl.bounce import all_failures

    from letters.inbound import mail_paths_ingest
    from letters.models import Response

    messages = _messages()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mbox"
        box = mailbox.mbox(path)
        for raw in messages:
            box.add(raw)
        box.close()
        Response.objects.filter(message_id__startswith="<bench.").delete()
        with timed() as ingest:
            report = mail_paths_ingest(paths=[path])
        with timed() as again:
            repeat = mail_paths_ingest(paths=[path])
        Response.objects.filter(message_id__startswith="<bench.").delete()

    with timed() as naive:
        for raw in messages:
            with contextlib.suppress(Exception):  # flufl raises on some broken mail
                all_failures(message_from_bytes(raw))

    count = len(messages)
    stored_how = f"{ingest():.1f} s, {report['stored']} stored"
    stored = Measure(count / ingest(), "msg/s", stored_how, digits=0)
    scanned = Measure(count / naive(), "msg/s", "flufl.bounce scan only, nothing stored", digits=0)
    return [
        # Two digits: the ratio is well below 1 (storing costs more than the scan alone).
        versus(
            f"inbound: {count} real messages classified and stored (PostgreSQL)",
            "",
            stored,
            scanned,
            ok=report["stored"] == count,
            ratio_digits=2,
        ),
        Row(
            figure="inbound: the same mbox read again (all duplicates)",
            target="0 stored",
            measured=f"{count / again():.0f} msg/s, {repeat['stored']} stored",
            ok=repeat["stored"] == 0 and repeat["duplicates"] == count,
        ),
    ]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
