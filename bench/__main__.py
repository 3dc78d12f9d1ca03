"""``make bench``: run every benchmark, then print one table.

Each benchmark runs in its own interpreter so that one's memory and loaded
fonts or event loops do not colour the next one's figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import Row, machine, print_table

HERE = Path(__file__).resolve().parent


def bench_modules() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*_bench.py"))


def run_one(name: str) -> list[Row]:
    code = (
        "import json, dataclasses, importlib;"
        f"rows = importlib.import_module('bench.{name}').run();"
        "print('BENCH-ROWS ' + json.dumps([dataclasses.asdict(r) for r in rows]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=HERE.parent, capture_output=True, text=True
    )
    sys.stderr.write(result.stderr[-4000:])
    for line in result.stdout.splitlines():
        if line.startswith("BENCH-ROWS "):
            return [Row(**row) for row in json.loads(line.removeprefix("BENCH-ROWS "))]
    return [Row(figure=f"{name}: failed (exit {result.returncode})", target="", measured="")]


def main() -> int:
    args = sys.argv[1:]
    if "--quick" in args:
        # Smaller runs where a benchmark offers them (probe_vs_nmap: 100 and 250 hosts).
        os.environ["BENCH_QUICK"] = "1"
        args.remove("--quick")
    names = args or bench_modules()
    rows: list[Row] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(run_one(name))
    print(f"\nMachine: {machine()}\n")
    print_table(rows)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
