"""``python -m tests.bench [name ...]``: run every benchmark module (or the named ones), each in
its own process so each can configure Django and its database, and print their reports."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main(argv: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if argv:
        modules = [m for m in modules if any(a in m for a in argv)]
    failed = []
    for module in modules:
        print(f"=== {module} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"tests.bench.{module}"], cwd=ROOT)
        print(f"=== {module}: exit {code} in {time.monotonic() - started:.0f} s ===\n", flush=True)
        if code:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
