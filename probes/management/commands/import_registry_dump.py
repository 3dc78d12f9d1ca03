"""``import_registry_dump PATH [...] --registry ripe|apnic|afrinic|lacnic|arin [--json]``."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from outreach.commands import OutreachCommand
from probes.registry_dump import DumpError, registry_dump_import
from probes.registry_rules import REGISTRIES


class Command(OutreachCommand):
    help = (
        "Import a registry's RPSL dump (gzipped or not, split files or one) as the new "
        "version of its bulk data, swapped in atomically."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--registry", required=True, choices=REGISTRIES)
        parser.add_argument("--serial", default="", help="dump serial or date (default: file date)")

    def handle(self, *args: object, **options: Any) -> None:
        total = 2 * sum(Path(p).stat().st_size for p in options["paths"] if Path(p).is_file())
        bar = _Bar(self.progress(total=total, unit="B", unit_scale=True))
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
        self.summary(
            summary,
            f"{dataset.registry} {dataset.serial}: {summary['networks']} networks, "
            f"{summary['prefixes']} prefixes, {summary['with_contact']} with their own abuse "
            f"contact, {summary['refused_objects']} objects refused, in {summary['seconds']} s.",
        )
        if not self.as_json:
            for error in summary["errors"][:10]:
                self.stdout.write(f"  refused: {error}")


class _Bar:
    """Bytes read (of the files on disk), over both passes."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar
        self.last = 0

    def update(self, position: int) -> None:
        # A smaller position means the next file (or pass) began.
        step = position - self.last if position >= self.last else position
        self.last = position
        self.bar.update(step)

    def close(self) -> None:
        self.bar.close()
