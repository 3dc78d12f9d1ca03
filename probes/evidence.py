"""The proof a letter quotes: a short excerpt of a probe's transcript. Pure, no ORM.

The excerpt keeps what proves the verdict and marks every elision with "…":

- the banner and the greeting (EHLO or HELO) with the start and end of the
  server's reply, and any line that advertises STARTTLS;
- for STARTTLS hosts, the upgrade and the greeting after TLS;
- the whole exchange of the first test that passed (RSET, MAIL FROM, RCPT TO
  and the 2xx that accepted it), never cut;
- when no test passed, the last exchange and the probe's closing note, which
  show why.

Transcript lines look like ``+   12ms S: 220 mx.example ESMTP`` (see
``probes.smtp.Transcript``): C is us, S the server, * a note of the probe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

ELISION = "…"
# Lines outside the passing exchange are cut to this many characters, and
# without a pass at most this many closing lines are quoted.
LINE_CHARS = 160
TAIL_LINES = 12
_LINE = re.compile(r"^\+\s*\d+ms (?P<side>[CS*]): (?P<text>.*)$")


class _Line(NamedTuple):
    """One transcript line, split into its side (C, S or *) and its text."""

    raw: str
    side: str
    text: str


def proof_excerpt(transcript: str, tests_passed: Sequence[int] = ()) -> str:
    """The lines of ``transcript`` that prove the verdict, elisions marked with "…"."""
    lines = _parse(transcript)
    if not lines:
        return ""
    keep = {0}  # the connect note or the banner, whatever the transcript holds
    passing = _test_segment(lines, tests_passed[0]) if tests_passed else None
    keep |= _greeting(lines, end=passing[0] if passing else len(lines))
    if passing:
        keep.update(range(*passing))
    else:
        keep |= _last_exchange(lines)
    return _render(lines, keep, whole=set(range(*passing)) if passing else set())


def _parse(transcript: str) -> list[_Line]:
    parsed = []
    for raw in (transcript or "").splitlines():
        match = _LINE.match(raw)
        side, text = (match["side"], match["text"]) if match else ("", raw)
        if raw.strip():
            parsed.append(_Line(raw, side, text))
    return parsed


def _test_segment(lines: list[_Line], test: int) -> tuple[int, int] | None:
    """[start, end) of one test: its marker up to the next marker or QUIT."""
    marker = f"test {test}"
    start = next((i for i, line in enumerate(lines) if _is_note(line, marker)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and not _ends_test(lines[end]):
        end += 1
    return start, end


def _is_marker(line: _Line) -> bool:
    return line.side == "*" and line.text.startswith("test ")


def _ends_test(line: _Line) -> bool:
    return _is_marker(line) or (line.side == "C" and line.text.upper().startswith("QUIT"))


def _is_note(line: _Line, text: str) -> bool:
    return line.side == "*" and line.text == text


def _greeting(lines: list[_Line], *, end: int) -> set[int]:
    """The connect note, the banner, and each greeting and STARTTLS before ``end``."""
    keep = {0} if lines[0].side == "*" else set()
    keep |= _reply_summary(lines, _reply_after(lines, 0 if lines[0].side == "S" else 1))
    for i in range(min(end, len(lines))):
        verb = lines[i].text.split(" ", 1)[0].upper() if lines[i].side == "C" else ""
        if verb in ("EHLO", "HELO", "STARTTLS"):
            keep.add(i)
            keep |= _reply_summary(lines, _reply_after(lines, i + 1))
    return keep


def _reply_after(lines: list[_Line], start: int) -> range:
    end = start
    while end < len(lines) and lines[end].side == "S":
        end += 1
    return range(start, end)


def _reply_summary(lines: list[_Line], reply: range) -> set[int]:
    """First and last line of a reply, and any line that names STARTTLS."""
    if not reply:
        return set()
    keep = {reply.start, reply.stop - 1}
    keep |= {i for i in reply if "STARTTLS" in lines[i].text.upper()}
    return keep


def _last_exchange(lines: list[_Line]) -> set[int]:
    """Without a pass: the last test (or the last command) to the end, notes included."""
    tests = [
        i for i, line in enumerate(lines) if line.side == "*" and line.text.startswith("test ")
    ]
    commands = [i for i, line in enumerate(lines) if line.side == "C"]
    start = tests[-1] if tests else (commands[-1] if commands else 0)
    return set(range(max(start, len(lines) - TAIL_LINES), len(lines)))


def _render(lines: list[_Line], keep: set[int], *, whole: set[int]) -> str:
    out: list[str] = []
    previous = -1
    for i in sorted(keep):
        if i > previous + 1:
            out.append(ELISION)
        raw = lines[i].raw
        out.append(raw if i in whole or len(raw) <= LINE_CHARS else raw[: LINE_CHARS - 1] + ELISION)
        previous = i
    if previous < len(lines) - 1:
        out.append(ELISION)
    return "\n".join(out)
