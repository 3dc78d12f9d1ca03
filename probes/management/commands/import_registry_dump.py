"""``import_registry_dump PATH [...] --registry ripe|apnic|afrinic|lacnic|arin [--json]``."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from probes.registry_dump import DumpError, registry_dump_import
from probes.registry_rules import REGISTRIES


class Command(BaseCommand):
    help = (
        "Import a registry's RPSL dump (gzipped or not, split files or one) as the new "
        "version of its bulk data, swapped in atomically."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--registry", required=True, choices=REGISTRIES)
        parser.add_argument("--serial", default="", help="dump serial or date (default: file date)")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args: object, **options: Any) -> None:
        bar = _Bar(options["paths"])
        try:
            dataset = registry_dump_import(
                paths=options["paths"],
                registry=options["registry"],
                serial=options["serial"],
                progress=bar.update,
            )
        except DumpError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        summary = {"dataset": dataset.id, "registry": dataset.registry, "serial": dataset.serial}
        summary |= dataset.figures
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            f"{dataset.registry} {dataset.serial}: {summary['networks']} networks, "
            f"{summary['prefixes']} prefixes, {summary['with_contact']} with their own abuse "
            f"contact, {summary['refused_objects']} objects refused, in {summary['seconds']} s."
        )
        for error in summary["errors"][:10]:
            self.stdout.write(f"  refused: {error}")


class _Bar:
    """Bytes read (of the files on disk), over both passes; off when not a tty."""

    def __init__(self, paths: list[str]) -> None:
        from tqdm import tqdm

        total = 2 * sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
        self.bar = tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, disable=None)
        self.last = 0

    def update(self, position: int) -> None:
        # A smaller position means the next file (or pass) began.
        step = position - self.last if position >= self.last else position
        self.last = position
        self.bar.update(step)

    def close(self) -> None:
        self.bar.close()
