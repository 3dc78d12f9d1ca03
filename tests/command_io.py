"""Helpers for the tests of management commands: JSON Lines and a fake terminal."""

from __future__ import annotations

import io
import json


class TtyStream(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def json_lines(out: io.StringIO | str) -> list[dict]:
    """Every stdout line parsed as JSON; each must be one object, the last the summary."""
    text = out if isinstance(out, str) else out.getvalue()
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows, "no output"
    assert all(isinstance(row, dict) for row in rows)
    assert [row.get("summary", False) for row in rows] == [False] * (len(rows) - 1) + [True]
    return rows


def bar_drawn(text: str) -> bool:
    """tqdm redraws its bar after a carriage return; plain lines never carry one."""
    return "\r" in text


def run_command(*args: object, tty: bool = False) -> tuple[str, str]:
    """Run a management command; its stdout and stderr (a terminal when ``tty``)."""
    from django.core.management import call_command

    out, err = io.StringIO(), TtyStream() if tty else io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()
