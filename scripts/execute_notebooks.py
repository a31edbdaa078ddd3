"""Execute notebooks top to bottom in a fresh kernel and report each one's wall-clock time.

    python scripts/execute_notebooks.py book/*.ipynb             # time only, files untouched
    python scripts/execute_notebooks.py --in-place book/*.ipynb  # re-execute and save outputs

Execution is deterministic: JAX on the CPU, seeded keys in every notebook, and no per-cell timing
metadata written into the files.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

BUDGET_SECONDS = {"default": 45.0, "application": 60.0}
APPLICATION_CHAPTERS = ("11_", "12_", "13_")


def budget(path: Path) -> float:
    return BUDGET_SECONDS["application" if path.name.startswith(APPLICATION_CHAPTERS) else "default"]


def execute(path: Path, in_place: bool) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if in_place:
        nbformat.write(nb, path)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--in-place", action="store_true", help="save the executed notebooks")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    over = []
    print(f"{'notebook':<40} {'seconds':>8} {'budget':>7}")
    for path in args.notebooks:
        seconds = execute(path, args.in_place)
        flag = "" if seconds <= budget(path) else "  OVER BUDGET"
        print(f"{path.name:<40} {seconds:8.1f} {budget(path):7.0f}{flag}", flush=True)
        if flag:
            over.append(path.name)
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
