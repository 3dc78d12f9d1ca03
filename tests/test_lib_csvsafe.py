"""CSV exports cannot smuggle formulas into an agency's spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from outreach.lib.csvsafe import SafeWriter, cell_safe, csv_response


@pytest.mark.parametrize(
    "hostile",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "  =1+1",
        "\uff1d1+1",
    ],
)
def test_it_neutralises_cells_that_start_a_formula(hostile):
    assert cell_safe(hostile) == "'" + hostile


def test_it_leaves_ordinary_text_and_numbers_alone():
    assert cell_safe("abuse@isp.example") == "abuse@isp.example"
    assert cell_safe(-3) == -3 and cell_safe(2.5) == 2.5
    assert cell_safe(None) == "" and cell_safe(True) == "yes"
    assert cell_safe(dt.date(2026, 1, 2)) == "2026-01-02"


def test_its_writer_neutralises_every_row():
    buffer = io.StringIO()
    SafeWriter(buffer).writerows([["ip", "org"], ["192.0.2.1", "=cmd()"]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [
        ["ip", "org"],
        ["192.0.2.1", "'=cmd()"],
    ]


def test_it_streams_a_download_with_a_safe_file_name():
    response = csv_response(
        filename='../hosts"; x=.csv', header=["ip", "org"], rows=iter([["192.0.2.1", "@x"]])
    )
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == ["ip,org", "192.0.2.1,'@x"]
    assert response["Content-Disposition"] == 'attachment; filename="hosts_x_.csv"'
