"""Check that the assignments grade themselves correctly (the `assign` phase of `make test`).

For every assignment that `make assignments` generated under DIST (default ``dist/assignments``),
in one process per assignment:

1. The master's solution notebook is executed (its code cells, without otter's) and every question
   is graded in-process with the autograder zip's own test files: full marks on every question.
2. Every wrong answer of ``wrong_answers.py`` replaces the solution's definition in that namespace
   and its question is graded the same way: it must lose points, and each test it lists must fail.
   Grading in-process keeps this to one notebook execution per assignment instead of one per
   submission.

The end-to-end runs, through the zip's own Gradescope entry point in a fresh environment built
from the zip alone (the solution at full marks and the blank student copy at zero on every
question, a wrong answer, the time limit), what a student downloads and the PDF of the written
answers are checked in `make assignments-zip-check` (``check_autograder_zip.py`` and
``check_student_side.py``), outside make test for time; CI runs both.

Usage: python assignments/check_grading.py [DIST] [--jobs N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wrong_answers import WRONG_ANSWERS

Scores = dict[str, tuple[float, float]]


def autograder_zip(assignment: Path) -> Path:
    zips = sorted((assignment / "autograder").glob("*-autograder_*.zip"))
    if len(zips) != 1:
        raise SystemExit(f"{assignment}: expected one autograder zip, found {len(zips)}")
    return zips[0]


def question_names(zip_path: Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return {Path(n).stem for n in zf.namelist() if n.startswith("tests/") and n.endswith(".py")}


def solution_env(notebook: Path) -> dict:
    """The global namespace after running the solution notebook's code cells, without otter's cells."""
    cells = json.loads(notebook.read_text())["cells"]
    env: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in cells:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "otter" not in source and "grader." not in source:
                exec(compile(source, str(notebook), "exec"), env)
    return env


@contextlib.contextmanager
def test_files(zip_path: Path) -> Iterator[dict[str, Path]]:
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if n.startswith("tests/") and n.endswith(".py")]
        zf.extractall(tmp, names)
        yield {Path(n).stem: Path(tmp) / n for n in names}


def grade_question(test_file: Path, env: dict) -> tuple[float, float, set[str]]:
    """Score, possible points and the names of the failed tests of one question."""
    from otter.test_files import ExceptionTestFile  # otter is in the assignments' environment only

    tf = ExceptionTestFile.from_file(str(test_file))
    with contextlib.redirect_stdout(io.StringIO()):
        tf.run(env)
    failed = {r.test_case.body.test_func.__name__ for r in tf.test_case_results if not r.passed}
    return tf.score, tf.possible, failed


def public_tests(test_file: Path) -> set[str]:
    """The names of a question's public tests (those a student runs with grader.check)."""
    from otter.test_files import ExceptionTestFile

    tf = ExceptionTestFile.from_file(str(test_file))
    return {tc.body.test_func.__name__ for tc in tf.test_cases if not tc.hidden}


def check_runs(name: str, solution: Scores, blank: Scores | None, questions: set[str]) -> list[str]:
    """Errors unless the solution has full marks and the blank copy (if given) zero, per question."""
    errors = []
    runs = {"solution": solution} if blank is None else {"solution": solution, "blank copy": blank}
    for label, scores in runs.items():
        if set(scores) != questions:
            errors.append(f"{name} {label}: graded questions {sorted(scores)}, expected {sorted(questions)}")
    for q, (score, possible) in sorted(solution.items()):
        if possible <= 0 or score != possible:
            errors.append(f"{name} solution: {q} scored {score:g}/{possible:g}, expected full marks")
    for q, (score, possible) in sorted((blank or {}).items()):
        if score != 0:
            errors.append(f"{name} blank copy: {q} scored {score:g}/{possible:g}, expected 0")
    return errors


def check_assignment(name: str, assignment: Path) -> tuple[list[str], list[str]]:
    """Grade the solution and every wrong answer of one assignment in-process: (report, errors)."""
    zip_path = autograder_zip(assignment)
    start, cpu = time.perf_counter(), time.process_time()
    env = solution_env(assignment / "autograder" / f"{name}.ipynb")
    lines, errors = [], []
    with test_files(zip_path) as tests:
        graded = {q: grade_question(tests[q], env) for q in sorted(tests)}
        solution = {q: (score, possible) for q, (score, possible, _) in graded.items()}
        errors += check_runs(name, solution, None, set(tests))
        for q, (_, _, failed) in graded.items():
            if failed:
                errors.append(f"{name} {q}: the solution fails {sorted(failed)} in-process")
        got, total = (sum(v[i] for v in solution.values()) for i in (0, 1))
        lines.append(
            f"{name}: solution {got:g}/{total:g} in-process in {time.perf_counter() - start:.1f} s "
            f"({time.process_time() - cpu:.1f} s CPU)"
        )
        for w in (w for w in WRONG_ANSWERS if w.assignment == name):
            start = time.perf_counter()
            mutated = dict(env)
            exec(compile(w.source, f"<wrong answer {name} {w.question}>", "exec"), mutated)
            score, possible, failed = grade_question(tests[w.question], mutated)
            missed = set(w.must_fail) - failed
            ok = score < possible and not missed
            public = "public" if failed & public_tests(tests[w.question]) else "hidden only"
            lines.append(
                f"  {'caught' if ok else 'MISSED'} ({public}) {w.question} {score:g}/{possible:g} "
                f"({time.perf_counter() - start:.1f} s)  {w.mistake}; failed: {', '.join(sorted(failed))}"
            )
            if not ok:
                errors.append(
                    f"{name} {w.question}: wrong answer '{w.mistake}' scored {score:g}/{possible:g}; "
                    f"tests that should have failed but passed: {sorted(missed)}"
                )
    return lines, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dist", nargs="?", default="dist/assignments", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="assignments graded in parallel")
    args = parser.parse_args()
    assignments = sorted(p for p in args.dist.iterdir() if (p / "autograder").is_dir())
    if not assignments:
        raise SystemExit(f"no assignments under {args.dist} (run make assignments)")
    known = {a.name for a in assignments}
    unknown = {w.assignment for w in WRONG_ANSWERS} - known
    if unknown:
        raise SystemExit(f"wrong_answers.py names assignments that were not generated: {sorted(unknown)}")

    # One process per assignment: each executes its solution with JAX, which must not be forked.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=spawn) as pool:
        results = list(pool.map(check_assignment, [a.name for a in assignments], assignments))
    errors = []
    for lines, assignment_errors in results:
        print("\n".join(lines))
        errors += assignment_errors
    graded = [line for lines, _ in results for line in lines if line.startswith("  ")]
    hidden_only = sum("(hidden only)" in line for line in graded)
    print(
        f"wrong answers passing every public test (hidden tests catch them): {hidden_only} of {len(graded)}"
    )
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
