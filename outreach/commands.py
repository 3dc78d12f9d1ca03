"""What every management command of Outreach does the same way.

``--json`` prints JSON Lines on stdout: one compact object per record (a
host, a file, a mailbox) and, last, a summary object marked
``"summary": true``. Nothing else goes to stdout then: human notes, warnings
and the progress bar go to stderr, so ``manage.py … --json | jq`` reads every
line. Long commands draw a tqdm bar on stderr, only when stderr is a terminal
and never with ``--json``: cron, pipes and tests see no bar.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from tqdm import tqdm

from outreach.models import Campaign

JSON_HELP = "JSON Lines on stdout: one object per record, then a summary object"


class OutreachCommand(BaseCommand):
    """A BaseCommand with ``--json`` (unless ``json_option`` is False) and a progress bar."""

    json_option = True

    def __init__(
        self,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        no_color: bool = False,
        force_color: bool = False,
    ) -> None:
        super().__init__(stdout, stderr, no_color=no_color, force_color=force_color)
        # The bar needs the raw stream: Django's wrapper would end every
        # redraw with a newline (and colour it red on a terminal).
        self.bar_stream = stderr or sys.stderr
        self.out_stream = stdout or sys.stdout
        self.as_json = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.json_option:
            parser.add_argument("--json", action="store_true", help=JSON_HELP)
        return parser

    def execute(self, *args: Any, **options: Any) -> str | None:
        self.as_json = bool(options.get("json"))
        # call_command hands its streams to execute, not to the constructor.
        self.out_stream = options.get("stdout") or self.out_stream
        self.bar_stream = options.get("stderr") or self.bar_stream
        return super().execute(*args, **options)

    def record(self, obj: dict[str, Any], text: str | None = None) -> None:
        """One record: a JSON line with ``--json``, else ``text`` (if any) for a person."""
        if self.as_json:
            self.stdout.write(_line(obj))
        elif text is not None:
            self._write(self.stdout, self.out_stream, text)

    def summary(self, obj: dict[str, Any], text: str | None = None) -> None:
        """The last line: the summary object with ``--json``, else ``text``."""
        self.record({"summary": True, **obj}, text)

    def note(self, text: str) -> None:
        """Words for a person: on stdout, or on stderr when stdout carries JSON."""
        if self.as_json:
            # Not in red: Django colours stderr as errors on a terminal.
            self._write(self.stderr, self.bar_stream, text, style_func=str)
        else:
            self._write(self.stdout, self.out_stream, text)

    def warn(self, text: str) -> None:
        """A warning or an error that does not stop the command: always on stderr."""
        self._write(self.stderr, self.bar_stream, text)

    def progress(self, iterable: Iterable | None = None, *, unit: str = "", **kwargs: Any) -> tqdm:
        """A tqdm bar on stderr (over ``iterable``, if given); silent off a terminal
        or with ``--json``."""
        shown = not self.as_json and _is_tty(self.bar_stream)
        return tqdm(iterable, unit=unit, file=self.bar_stream, disable=not shown, **kwargs)

    def _write(
        self,
        wrapper: OutputWrapper,
        stream: IO[str],
        text: str,
        style_func: Callable[[str], str] | None = None,
    ) -> None:
        # A line written under a running bar would land on the bar's line:
        # tqdm takes the bar off the terminal for the write, then redraws it.
        with tqdm.external_write_mode(file=stream):
            wrapper.write(text, style_func=style_func)


def campaign_by_slug(slug: str) -> Campaign:
    """The campaign a command names with ``--campaign``; a clear error when none has that slug."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        raise CommandError(f"No campaign with slug {slug!r}.")
    return campaign


def done_of_total(bar: tqdm) -> Callable[[int, int], None]:
    """The ``progress(done, total)`` callback services take, moving this bar."""

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return advance


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def _is_tty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
