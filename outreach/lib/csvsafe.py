"""CSV that spreadsheets cannot mistake for formulas.

Feeds, WHOIS and replies are written by strangers. A cell such as
``=HYPERLINK("http://evil.example", "click")`` or ``@SUM(...)`` becomes a live
formula when an agency opens the export in a spreadsheet (CSV injection,
OWASP). Every text cell that starts with one of the trigger characters is
prefixed with an apostrophe, which spreadsheets show as plain text. Numbers
stay numbers. Every export of every stage writes through this module.

Pure: no ORM, so it can be tested and reused anywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

# "=", "+", "-", "@" start formulas; tab and carriage return let a formula
# hide behind leading whitespace; the full-width forms are read as the
# same characters by some spreadsheets.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def cell_safe(value: Any) -> str | int | float | decimal.Decimal:
    """One cell, neutralised: text that could start a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | decimal.Decimal):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    if text.lstrip(" ").startswith(TRIGGERS):
        return "'" + text
    return text


def row_safe(row: Iterable[Any]) -> list[Any]:
    return [cell_safe(value) for value in row]


class SafeWriter:
    """``csv.writer`` whose every row goes through :func:`row_safe`."""

    def __init__(self, stream: Any, **fmtparams: Any) -> None:
        self._writer = csv.writer(stream, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(row_safe(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text, one line at a time (for streaming big exports)."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(header)
    yield _drain(buffer)
    for row in rows:
        writer.writerow(row)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A streamed, formula-safe CSV download; ``filename`` is reduced to safe characters."""
    safe_name = _FILENAME_UNSAFE.sub("_", filename).strip("._") or "export"
    if not safe_name.endswith(".csv"):
        safe_name += ".csv"
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
