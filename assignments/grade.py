"""Grade a class on your own machine, with a time limit, and put the grades into one CSV file.

``run`` grades each submission with ``otter run`` against an autograder zip, in the current
environment (the book's, with otter-grader), one after the other. It writes
``OUT/STUDENT/results.json`` (STUDENT is the notebook's file name without ``.ipynb``) and otter's log
next to it. A submission that runs past ``--timeout`` seconds is stopped, with the kernel it started,
and scores zero with the reason in its ``results.json``; one that otter cannot grade at all scores zero
with the reason too, so every student gets a row.

``csv`` turns a folder of ``STUDENT/results.json`` files (from ``run``, or Gradescope's export of
``results.json`` files laid out the same way) into one CSV table: student, one column per question,
total, points possible, and a note for time-outs and grading errors.

Usage:
  python assignments/grade.py run AUTOGRADER.zip SUBMISSION.ipynb... [--out results] [--timeout 600]
  python assignments/grade.py csv results [--output grades.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_timeout import DEFAULT_TIMEOUT_S, run_with_limit


def error_results(message: str) -> dict:
    return {
        "score": 0,
        "output": message,
        "tests": [{"name": "Grading error", "score": 0, "output": message, "visibility": "visible"}],
        "extra_data": {"grading_error": True},
    }


def run_one(autograder: Path, submission: Path, out: Path, timeout_s: float) -> dict:
    """Grade one submission into ``out/results.json`` and return its results."""
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.unlink(missing_ok=True)
    command = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder), "-o", str(out)]
    with open(out / "otter.log", "w") as log:
        finished = run_with_limit([*command, str(submission)], results, timeout_s, log=log)
    if finished and not results.exists():
        results.write_text(json.dumps(error_results(f"otter could not grade it: see {out / 'otter.log'}")))
    return json.loads(results.read_text())


def question_scores(results: dict) -> dict[str, tuple[float, float]]:
    """{question: (score, points possible)}; the "Public Tests" summary carries no score."""
    return {
        t["name"]: (float(t["score"]), float(t["max_score"]))
        for t in results.get("tests", [])
        if "max_score" in t
    }


def note(results: dict) -> str:
    extra = results.get("extra_data", {})
    return "time limit" if extra.get("timed_out") else "grading error" if extra.get("grading_error") else ""


def natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def grades_table(results_dir: Path) -> tuple[list[str], list[list]]:
    """The header and one row per student from ``results_dir/STUDENT/results.json``.

    A question missing from a student's results (a time-out, a grading error) counts zero; the points
    possible come from the students whose notebook was graded.

    Raises:
      ValueError: if ``results_dir`` holds no ``STUDENT/results.json``.
    """
    files = sorted(results_dir.glob("*/results.json"))
    if not files:
        raise ValueError(f"results_dir must hold STUDENT/results.json files; none under {results_dir}")
    students = {f.parent.name: json.loads(f.read_text()) for f in files}
    possible: dict[str, float] = {}
    for results in students.values():
        for q, (_, pts) in question_scores(results).items():
            possible[q] = max(possible.get(q, 0.0), pts)
    questions = sorted(possible, key=natural_key)
    header = ["student", *questions, "total", "possible", "note"]
    rows = []
    for student, results in students.items():
        got = question_scores(results)
        values = [got.get(q, (0.0, 0.0))[0] for q in questions]
        rows.append(
            [
                student,
                *[f"{v:g}" for v in values],
                f"{sum(values):g}",
                f"{sum(possible.values()):g}",
                note(results),
            ]
        )
    return header, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="grade submissions with otter run and a time limit")
    run.add_argument("autograder", type=Path, help="the assignment's autograder zip")
    run.add_argument("submissions", nargs="+", type=Path, help="students' notebooks")
    run.add_argument("--out", type=Path, default=Path("results"), help="folder for STUDENT/results.json")
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per submission")
    table = sub.add_parser("csv", help="one CSV of grades from a folder of results")
    table.add_argument("results", type=Path, help="folder of STUDENT/results.json")
    table.add_argument("--output", type=Path, help="CSV file to write (default: standard output)")
    args = parser.parse_args()

    if args.command == "run":
        for submission in args.submissions:
            start = time.perf_counter()
            results = run_one(args.autograder, submission, args.out / submission.stem, args.timeout)
            got = question_scores(results)
            total = sum(s for s, _ in got.values())
            possible = sum(p for _, p in got.values())
            why = note(results)
            summary = f"0 ({why})" if why else f"{total:g}/{possible:g}"
            print(f"{submission.stem}: {summary} in {time.perf_counter() - start:.1f} s")
        return 0
    header, rows = grades_table(args.results)
    with (
        open(args.output, "w", newline="")
        if args.output
        else open(sys.stdout.fileno(), "w", closefd=False) as f
    ):
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
