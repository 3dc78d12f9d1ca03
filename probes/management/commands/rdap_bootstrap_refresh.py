"""``rdap_bootstrap_refresh [--source URL_OR_DIR]``: replace the shipped RFC 7484 files.

Reads IANA's ``ipv4.json`` and ``ipv6.json`` (by default from
https://data.iana.org/rdap/), refuses anything that does not parse as a
bootstrap file, and swaps each file in with an atomic rename.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import CommandError

from outreach.commands import OutreachCommand
from probes import bootstrap

IANA = "https://data.iana.org/rdap/"


class Command(OutreachCommand):
    help = "Refresh the RDAP bootstrap files (IANA, RFC 7484) the registry choice reads."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--source", default=IANA, help="a base URL or a directory")
        parser.add_argument("--to", default=str(bootstrap.DATA_DIR), help="where to write")

    def handle(self, *args: object, **options: object) -> None:
        texts = {name: self._read(str(options["source"]), name) for name in bootstrap.FILES}
        for name, text in texts.items():
            try:
                bootstrap.table_build(bootstrap.bootstrap_parse(text))
            except bootstrap.BootstrapError as exc:
                raise CommandError(f"{name}: {exc}") from None
        for name, text in texts.items():
            _replace(Path(str(options["to"])) / name, text)
        bootstrap.tables.cache_clear()
        self.summary(
            {"source": options["source"], "to": options["to"], "files": list(texts)},
            f"Bootstrap files refreshed from {options['source']}.",
        )

    def _read(self, source: str, name: str) -> str:
        try:
            if "://" not in source:
                return (Path(source) / name).read_text(encoding="utf-8")[: bootstrap.MAX_BYTES + 1]
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(source.rstrip("/") + "/" + name, timeout=30) as response:
                return response.read(bootstrap.MAX_BYTES + 1).decode("utf-8", "replace")
        except OSError as exc:
            raise CommandError(f"{name}: {exc}") from None


def _replace(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".bootstrap-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
