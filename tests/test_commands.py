"""The conventions every management command shares (outreach/commands.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import get_commands, load_command_class

from outreach.commands import OutreachCommand
from tests.command_io import TtyStream, bar_drawn, json_lines

APPS = ("outreach", "probes", "letters")
# Exempt from --json: the demo narrates a run and then serves the admin, and
# receive_mail is a server that runs until stopped; neither has results to report.
WITHOUT_JSON = {"demo", "receive_mail"}


class Counting(OutreachCommand):
    """Three records, a note and a summary, with a bar over the records."""

    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        self.note("counting")
        for n in self.progress(range(3), unit=" n"):
            self.record({"n": n}, f"n = {n}")
        self.summary({"total": 3}, "3 counted")


def run(*args: str, stderr: io.StringIO | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), stderr or io.StringIO()
    command = Counting(stdout=out, stderr=err)
    parser = command.create_parser("manage.py", "counting")
    options = vars(parser.parse_args(args))
    command.execute(**options)
    return out.getvalue(), err.getvalue()


def ours() -> dict[str, str]:
    return {name: app for name, app in get_commands().items() if app in APPS}


def test_it_prints_one_compact_object_a_line_and_the_summary_last():
    out, err = run("--json")
    assert json_lines(out) == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
        {"summary": True, "total": 3},
    ]
    assert out.splitlines()[-1] == '{"summary":true,"total":3}'
    assert err == "counting\n"


def test_it_prints_words_for_people_without_json():
    out, err = run()
    assert out.splitlines() == ["counting", "n = 0", "n = 1", "n = 2", "3 counted"]
    assert err == ""


def test_it_keeps_non_ascii_text_readable_in_json():
    command = OutreachCommand(stdout=(out := io.StringIO()))
    command.as_json = True
    command.record({"contact": "abuse@例え.jp"})
    assert out.getvalue() == '{"contact":"abuse@例え.jp"}\n'
    assert json.loads(out.getvalue()) == {"contact": "abuse@例え.jp"}


def test_it_draws_a_bar_when_stderr_is_a_terminal():
    out, err = run(stderr=TtyStream())
    assert bar_drawn(err) and "3/3" in err
    # The bar is taken off the terminal for each line, so stdout stays clean.
    assert not bar_drawn(out)


def test_it_draws_no_bar_when_stderr_is_not_a_terminal():
    _out, err = run()
    assert not bar_drawn(err)


def test_it_draws_no_bar_with_json_even_on_a_terminal():
    out, err = run("--json", stderr=TtyStream())
    assert not bar_drawn(err)
    json_lines(out)


def test_it_leaves_notes_uncoloured_on_a_terminal_and_warnings_red():
    err = TtyStream()
    command = OutreachCommand(stdout=io.StringIO(), stderr=err, force_color=True)
    command.as_json = True
    command.note("created")
    command.warn("down")
    assert err.getvalue() == "created\n" + command.style.ERROR("down\n")
    assert command.style.ERROR("down\n") != "down\n"


def test_it_offers_json_through_the_shared_option_only():
    assert "--json" in Counting().create_parser("manage.py", "counting").format_help()

    class Quiet(OutreachCommand):
        json_option = False

    assert "--json" not in Quiet().create_parser("manage.py", "quiet").format_help()


@pytest.mark.parametrize("name", sorted(ours()))
def test_every_command_but_the_exempt_ones_follows_the_conventions(name):
    command = load_command_class(ours()[name], name)
    has_json = "--json" in command.create_parser("manage.py", name).format_help()
    assert has_json == (name not in WITHOUT_JSON)
    assert isinstance(command, OutreachCommand) == has_json


def test_every_command_is_listed():
    assert len(ours()) == 17
