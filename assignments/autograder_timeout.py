"""Run otter's autograder with a wall-clock limit: a submission that runs past it scores zero.

Otter 7 has no time limit of its own when it grades without containers (``otter run``, and the
Gradescope autograder, which runs ``run_otter.py``): a notebook with an infinite loop hangs it
forever. This file goes into every autograder zip (``make assignments``), where the zip's
``run_autograder`` calls it in place of ``run_otter.py``::

    python /autograder/source/autograder_timeout.py --timeout 600 /autograder

It grades in a child process; past the limit it kills that process and the kernel it started, and
writes a ``results.json`` that scores zero and says why. ``assignments/grade.py`` uses the same
function for ``otter run`` on an instructor's machine. Standard library only, plus psutil (which
the grading environment has: ipykernel needs it) to find the kernel among the child's descendants.

Usage: python autograder_timeout.py [--timeout SECONDS] [AUTOGRADER_DIR]   (default /autograder)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import IO

DEFAULT_TIMEOUT_S = 600


def timeout_message(timeout_s: float) -> str:
    return (
        f"Grading stopped after {timeout_s:g} s, the time limit for one submission: a cell did not "
        "finish (an infinite loop, or far more samples than the questions ask for). Every question "
        "is recorded as 0. Before you submit, run 'Restart Kernel and Run All Cells': it must reach "
        "the end in well under a minute."
    )


def timeout_results(timeout_s: float) -> dict:
    """A Gradescope ``results.json`` scoring zero, with the reason visible to the student."""
    message = timeout_message(timeout_s)
    return {
        "score": 0,
        "output": message,
        "tests": [{"name": "Time limit", "score": 0, "output": message, "visibility": "visible"}],
        "extra_data": {"timed_out": True},
    }


def kill_tree(pid: int) -> None:
    """Kill a process and all its descendants (the kernel runs in a session of its own)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_with_limit(command: list[str], results_json: Path, timeout_s: float, log: IO | None = None) -> bool:
    """Run ``command``; past ``timeout_s`` seconds kill it and write zero results to ``results_json``.

    Args:
      command: the grading command.
      results_json: where the grading command writes its results; overwritten on a timeout.
      timeout_s: the wall-clock limit in seconds, > 0.
      log: a file for the command's output and errors (default: this process's).

    Returns:
      True if the command finished in time (whatever its exit status), False if it was stopped.

    Raises:
      ValueError: if ``timeout_s`` is not positive.
    """
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
    proc = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        proc.wait(timeout=timeout_s)
        return True
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        proc.wait()
        results_json.parent.mkdir(parents=True, exist_ok=True)
        results_json.write_text(json.dumps(timeout_results(timeout_s), indent=4))
        print(timeout_message(timeout_s), file=sys.stderr)
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("autograder_dir", nargs="?", default="/autograder", type=Path)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per submission")
    args = parser.parse_args()
    ag_dir = args.autograder_dir.resolve()
    command = [
        sys.executable,
        "-c",
        "import sys; from otter.run.run_autograder import main; main(sys.argv[1])",
        str(ag_dir),
    ]
    # Exit 0 either way: Gradescope shows results.json, which explains a timeout.
    run_with_limit(command, ag_dir / "results" / "results.json", args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
