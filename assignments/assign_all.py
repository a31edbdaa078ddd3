"""Run `otter assign` on every master notebook, importing otter once (for `make assignments`).

Of the 5.4 s that ``otter assign`` takes on one of these notebooks, 4.5 s is importing
``otter.assign``; the command line pays it once per notebook. Here the parent process imports it
and forked workers assign the notebooks, ``--jobs`` at a time. Nothing here starts JAX (the
assignments' configurations set ``run_tests: false``), so forking is safe.

Usage: python assignments/assign_all.py DIST MASTER [MASTER ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from otter.assign import main as otter_assign  # otter is in the assignments' environment only


def assign(master: Path, dist: Path) -> Path:
    """``otter assign --no-pdfs MASTER DIST/<master's stem>``; the result folder."""
    result = dist / master.stem
    otter_assign(str(master), str(result), no_pdfs=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dist", type=Path)
    parser.add_argument("masters", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks assigned in parallel")
    args = parser.parse_args()
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(args.jobs, mp_context=fork) as pool:
        for result in pool.map(assign, args.masters, [args.dist] * len(args.masters)):
            print(f"assigned {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
