"""Check that the assignments grade themselves correctly (the `assign` phase of `make test`).

For every assignment that `make assignments` generated under DIST (default ``dist/assignments``):

1. ``otter run`` grades the master's solution and the blank student copy against the autograder
   zip, locally and without Docker; the scores are read from the ``results.json`` it writes (its
   exit code is 0 even at zero points). The solution must score full marks on every question and
   the blank copy zero on every question.
2. Every wrong answer of ``wrong_answers.py`` replaces the solution's definition in the executed
   solution notebook and its question is graded in-process with the autograder zip's own test
   file: it must lose points, and each test it lists must fail. In-process grading of the same
   test files keeps this to one notebook execution per assignment instead of one per wrong answer.

What a student downloads, and the PDF of the written answers, are checked by
``check_student_side.py`` in `make assignments-zip-check` (outside make test, for time).

Usage: python assignments/check_grading.py [DIST] [--jobs N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from otter.test_files import ExceptionTestFile

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


def otter_run(notebook: Path, zip_path: Path) -> tuple[Scores, float, float]:
    """Grade one submission with ``otter run``: {question: (score, max)}, wall and CPU seconds.

    The CPU time (of otter and the kernel it starts) is what a loaded machine does not inflate.
    """
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        command = ["run", "--no-logo", "-a", str(zip_path), "-o", out, str(notebook)]
        proc = subprocess.Popen([sys.executable, "-m", "otter", *command], stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        results = Path(out) / "results.json"
        if os.waitstatus_to_exitcode(status) != 0 or not results.exists():
            log.seek(0)
            raise RuntimeError(f"otter run failed on {notebook}:\n{log.read()}")
        tests = json.loads(results.read_text())["tests"]
    # The "Public Tests" summary entry carries no score.
    scores = {t["name"]: (float(t["score"]), float(t["max_score"])) for t in tests if "max_score" in t}
    return scores, elapsed, usage.ru_utime + usage.ru_stime


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
    tf = ExceptionTestFile.from_file(str(test_file))
    with contextlib.redirect_stdout(io.StringIO()):
        tf.run(env)
    failed = {r.test_case.body.test_func.__name__ for r in tf.test_case_results if not r.passed}
    return tf.score, tf.possible, failed


def public_tests(test_file: Path) -> set[str]:
    """The names of a question's public tests (those a student runs with grader.check)."""
    tf = ExceptionTestFile.from_file(str(test_file))
    return {tc.body.test_func.__name__ for tc in tf.test_cases if not tc.hidden}


def check_runs(name: str, solution: Scores, blank: Scores, questions: set[str]) -> list[str]:
    errors = []
    for label, scores in (("solution", solution), ("blank copy", blank)):
        if set(scores) != questions:
            errors.append(f"{name} {label}: graded questions {sorted(scores)}, expected {sorted(questions)}")
    for q, (score, possible) in sorted(solution.items()):
        if possible <= 0 or score != possible:
            errors.append(f"{name} solution: {q} scored {score:g}/{possible:g}, expected full marks")
    for q, (score, possible) in sorted(blank.items()):
        if score != 0:
            errors.append(f"{name} blank copy: {q} scored {score:g}/{possible:g}, expected 0")
    return errors


def check_wrong_answers(name: str, assignment: Path, zip_path: Path) -> tuple[list[str], list[str]]:
    """Grade every wrong answer of one assignment: (report lines, errors)."""
    lines, errors = [], []
    env = solution_env(assignment / "autograder" / f"{name}.ipynb")
    wrong = [w for w in WRONG_ANSWERS if w.assignment == name]
    with test_files(zip_path) as tests:
        for q in sorted({w.question for w in wrong}):
            _, _, ref_failed = grade_question(tests[q], env)
            if ref_failed:
                errors.append(f"{name} {q}: the solution fails {sorted(ref_failed)} in-process")
        for w in wrong:
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
    parser.add_argument("--jobs", type=int, default=2, help="otter run processes in parallel")
    args = parser.parse_args()
    assignments = sorted(p for p in args.dist.iterdir() if (p / "autograder").is_dir())
    if not assignments:
        raise SystemExit(f"no assignments under {args.dist} (run make assignments)")
    known = {a.name for a in assignments}
    unknown = {w.assignment for w in WRONG_ANSWERS} - known
    if unknown:
        raise SystemExit(f"wrong_answers.py names assignments that were not generated: {sorted(unknown)}")

    # The otter runs are separate processes: the wrong answers are graded meanwhile in this one.
    zips = {a.name: autograder_zip(a) for a in assignments}
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = {
            (a.name, kind): pool.submit(otter_run, a / folder / f"{a.name}.ipynb", zips[a.name])
            for a in assignments
            for kind, folder in (("solution", "autograder"), ("blank", "student"))
        }
        wrong = {a.name: check_wrong_answers(a.name, a, zips[a.name]) for a in assignments}
        results = {k: f.result() for k, f in runs.items()}

    errors = []
    for a in assignments:
        solution, t_sol, cpu_sol = results[a.name, "solution"]
        blank, t_blank, cpu_blank = results[a.name, "blank"]
        total = sum(p for _, p in solution.values())
        got = sum(s for s, _ in solution.values())
        zero = sum(s for s, _ in blank.values())
        print(
            f"{a.name}: solution {got:g}/{total:g} in {t_sol:.1f} s ({cpu_sol:.1f} s CPU), "
            f"blank copy {zero:g}/{total:g} in {t_blank:.1f} s ({cpu_blank:.1f} s CPU)"
        )
        errors += check_runs(a.name, solution, blank, question_names(zips[a.name]))
        lines, wrong_errors = wrong[a.name]
        print("\n".join(lines))
        errors += wrong_errors
    graded = [line for lines, _ in wrong.values() for line in lines]
    hidden_only = sum("(hidden only)" in line for line in graded)
    print(
        f"wrong answers passing every public test (hidden tests catch them): {hidden_only} of {len(graded)}"
    )
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
