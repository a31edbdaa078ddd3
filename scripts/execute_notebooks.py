"""Execute notebooks top to bottom in a fresh kernel and report each one's wall-clock time.

    python scripts/execute_notebooks.py book/*.ipynb             # time only, files untouched
    python scripts/execute_notebooks.py --in-place book/*.ipynb  # re-execute and save outputs
    python scripts/execute_notebooks.py --compile-time book/*.ipynb  # split: JAX compile vs the rest

Execution is deterministic: JAX on the CPU, seeded keys in every notebook, and no per-cell timing
metadata written into the files.
"""

from __future__ import annotations

import argparse
import json
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


# Runs in the kernel before the notebook: collects the time spans of JAX's tracing, lowering and
# XLA compilation (jax.monitoring events), which nest, so their union is what compiling cost.
COMPILE_LISTENER = """
import jax.monitoring
_compile_spans = []
jax.monitoring.register_event_time_span_listener(
    lambda event, start, end, **_: _compile_spans.append((start, end))
    if event.startswith("/jax/core/compile/") else None
)
"""
COMPILE_REPORT = """
import json
_total, _reach = 0.0, float("-inf")
for _start, _end in sorted(_compile_spans):
    _total += max(0.0, _end - max(_start, _reach))
    _reach = max(_reach, _end)
print(json.dumps({"compile_seconds": _total}))
"""


def execute(path: Path, in_place: bool, compile_time: bool = False) -> tuple[float, float | None]:
    """Wall-clock seconds, and with ``compile_time`` the seconds spent compiling JAX programs."""
    nb = nbformat.read(path, as_version=4)
    if compile_time:
        nb.cells.insert(0, nbformat.v4.new_code_cell(COMPILE_LISTENER))
        nb.cells.append(nbformat.v4.new_code_cell(COMPILE_REPORT))
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
    if not compile_time:
        return elapsed, None
    report = json.loads(nb.cells[-1].outputs[-1]["text"])
    return elapsed, report["compile_seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--in-place", action="store_true", help="save the executed notebooks")
    parser.add_argument(
        "--compile-time", action="store_true",
        help="also report the seconds spent tracing and compiling JAX programs (files untouched)",
    )
    args = parser.parse_args()
    if args.in_place and args.compile_time:
        parser.error("--compile-time adds cells to the notebook: it cannot be saved in place")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    over = []
    extra = f" {'compile':>8} {'share':>6}" if args.compile_time else ""
    print(f"{'notebook':<40} {'seconds':>8} {'budget':>7}{extra}")
    for path in args.notebooks:
        seconds, compile_seconds = execute(path, args.in_place, args.compile_time)
        flag = "" if seconds <= budget(path) else "  OVER BUDGET"
        split = (
            f" {compile_seconds:8.1f} {compile_seconds / seconds:6.0%}"
            if compile_seconds is not None else ""
        )
        print(f"{path.name:<40} {seconds:8.1f} {budget(path):7.0f}{split}{flag}", flush=True)
        if flag:
            over.append(path.name)
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
