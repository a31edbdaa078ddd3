"""Prove that the autograder zips work on their own, as Gradescope runs them (`make assignments-zip-check`).

For the zips that `make assignments` wrote under DIST (default ``dist/assignments``):

1. One fresh virtual environment is built from a zip's own ``environment.yml`` alone, as the zip's
   ``setup.sh`` builds Gradescope's image: Python 3.11, its conda packages other than Python and pip,
   and its pip requirements, the gradest wheel from inside the zip included (``/autograder/source``
   stands for the folder the zip is extracted to, as on Gradescope). Nothing comes from the
   checkout: the environment files of all zips must be identical, so one environment serves all.
2. For each assignment, the zip's own entry point (``autograder_timeout.py``, which ``run_autograder``
   calls) grades, in a copy of Gradescope's ``/autograder`` layout: the solution (full marks on every
   question), the blank student copy (zero on every question) and the first wrong answer of
   ``wrong_answers.py`` (loses points on its question).
3. A submission with an infinite loop, graded with a short limit, is stopped and scores zero with the
   time-limit message, its kernel killed: once by the zip's entry point (Gradescope's path) and once by
   ``grade.py run`` (``otter run`` on an instructor's machine, here in the zip's environment).

Usage: python assignments/check_autograder_zip.py [DIST] [--python python3.11] [--jobs N] [--loop-timeout S]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_timeout import timeout_message
from check_grading import autograder_zip, check_runs, question_names
from wrong_answers import WRONG_ANSWERS

SOURCE_DIR = "/autograder/source"


def zip_requirements(zip_path: Path, source: Path) -> list[str]:
    """The packages the zip's environment.yml installs, with /autograder/source mapped to ``source``."""
    with zipfile.ZipFile(zip_path) as zf:
        env = yaml.safe_load(zf.read("environment.yml"))
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += [line.replace(SOURCE_DIR, str(source)) for line in dep["pip"]]
        elif not dep.startswith(("python=", "pip")):
            conda.append(dep)
    return conda + pip


def build_env(zip_path: Path, python: str, where: Path) -> tuple[Path, float]:
    """A fresh venv from the zip's own files: (its python, seconds taken)."""
    start = time.perf_counter()
    source = where / "source"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(source)
    (where / "requirements.txt").write_text("\n".join(zip_requirements(zip_path, source)) + "\n")
    subprocess.run([python, "-m", "venv", str(where / "venv")], check=True, cwd=where)
    py = where / "venv" / "bin" / "python"
    with zipfile.ZipFile(zip_path) as zf:
        wanted = next(
            d
            for d in yaml.safe_load(zf.read("environment.yml"))["dependencies"]
            if str(d).startswith("python=")
        )
    version = subprocess.run(
        [str(py), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != wanted.removeprefix("python="):
        raise SystemExit(f"the zip asks for {wanted}, but {python} is Python {version}")
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", "requirements.txt"], check=True, cwd=where)
    return py, time.perf_counter() - start


def grade(
    py: Path, zip_path: Path, notebook: nbformat.NotebookNode, name: str, timeout_s: float
) -> tuple[dict, float]:
    """Grade one submission with the zip's entry point in a copy of the /autograder layout."""
    with tempfile.TemporaryDirectory() as tmp:
        ag = Path(tmp) / "autograder"
        for sub in ("source", "submission", "results"):
            (ag / sub).mkdir(parents=True)
        (ag / "submission_metadata.json").write_text("{}")
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(ag / "source")
        nbformat.write(notebook, ag / "submission" / f"{name}.ipynb")
        start = time.perf_counter()
        command = [
            str(py),
            str(ag / "source" / "autograder_timeout.py"),
            "--timeout",
            f"{timeout_s:g}",
            str(ag),
        ]
        log = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        results = ag / "results" / "results.json"
        if not results.exists():
            raise RuntimeError(f"no results.json for {name}:\n{log.stdout}\n{log.stderr}")
        return json.loads(results.read_text()), elapsed


def scores(results: dict) -> dict[str, tuple[float, float]]:
    return {
        t["name"]: (float(t["score"]), float(t["max_score"])) for t in results["tests"] if "max_score" in t
    }


def with_wrong_answer(solution: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """The solution notebook with the cell defining the wrong answer's function replaced by it."""
    func = re.search(r"^def (\w+)\(", source, re.MULTILINE)
    if func is None:
        raise ValueError(f"wrong answer defines no function:\n{source}")
    nb = nbformat.from_dict(json.loads(json.dumps(solution)))
    cells = [c for c in nb.cells if c.cell_type == "code" and re.search(rf"^def {func[1]}\(", c.source, re.M)]
    if len(cells) != 1:
        raise ValueError(f"expected one cell defining {func[1]}, found {len(cells)}")
    cells[0].source = source.strip() + "\n"
    return nb


def grade_locally(
    py: Path, zip_path: Path, notebook: nbformat.NotebookNode, name: str, timeout_s: float
) -> tuple[dict, float]:
    """Grade one submission with ``grade.py run`` (otter run with the time limit)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "submissions" / f"{name}.ipynb"
        path.parent.mkdir()
        nbformat.write(notebook, path)
        start = time.perf_counter()
        grade_py = Path(__file__).resolve().parent / "grade.py"
        command = [str(py), str(grade_py), "run", str(zip_path), str(path), "--out", "results"]
        subprocess.run([*command, "--timeout", f"{timeout_s:g}"], cwd=tmp, capture_output=True, check=True)
        elapsed = time.perf_counter() - start
        return json.loads((Path(tmp) / "results" / name / "results.json").read_text()), elapsed


def with_infinite_loop(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(solution)))
    nb.cells.insert(len(nb.cells) // 2, nbformat.v4.new_code_cell("while True:\n    pass"))
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dist", nargs="?", default="dist/assignments", type=Path)
    parser.add_argument("--python", default="python3.11", help="the interpreter for the fresh environment")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel")
    parser.add_argument("--timeout", type=float, default=300, help="limit for ordinary submissions (s)")
    parser.add_argument("--loop-timeout", type=float, default=30, help="limit for the infinite loop (s)")
    args = parser.parse_args()
    dist = args.dist.resolve()
    assignments = sorted(p for p in dist.iterdir() if (p / "autograder").is_dir())
    if not assignments:
        raise SystemExit(f"no assignments under {dist} (run make assignments)")
    zips = {a.name: autograder_zip(a) for a in assignments}
    envs = set()
    for z in zips.values():
        with zipfile.ZipFile(z) as zf:
            envs.add(zf.read("environment.yml"))
    if len(envs) != 1:
        raise SystemExit("the zips' environment.yml files differ: one environment cannot serve them all")

    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        py, t_env = build_env(next(iter(zips.values())), args.python, Path(tmp))
        print(f"fresh environment from the zip's environment.yml in {t_env:.0f} s")
        jobs, graded = {}, {}
        with ThreadPoolExecutor(args.jobs) as pool:
            for a in assignments:
                solution = nbformat.read(a / "autograder" / f"{a.name}.ipynb", as_version=4)
                blank = nbformat.read(a / "student" / f"{a.name}.ipynb", as_version=4)
                wrong = next(w for w in WRONG_ANSWERS if w.assignment == a.name)
                subs = {
                    "solution": solution,
                    "blank copy": blank,
                    f"wrong answer {wrong.question} ({wrong.mistake})": with_wrong_answer(
                        solution, wrong.source
                    ),
                }
                for label, nb in subs.items():
                    jobs[a.name, label] = pool.submit(grade, py, zips[a.name], nb, a.name, args.timeout)
            first = assignments[0]
            loop_nb = with_infinite_loop(
                nbformat.read(first / "autograder" / f"{first.name}.ipynb", as_version=4)
            )
            loops = {
                "entry point": pool.submit(
                    grade, py, zips[first.name], loop_nb, first.name, args.loop_timeout
                ),
                "grade.py run": pool.submit(
                    grade_locally, py, zips[first.name], loop_nb, first.name, args.loop_timeout
                ),
            }
            for (name, label), job in jobs.items():
                results, elapsed = job.result()
                got = scores(results)
                total = sum(s for s, _ in got.values())
                possible = sum(p for _, p in got.values())
                print(f"{name} {label}: {total:g}/{possible:g} in {elapsed:.1f} s")
                graded[name, label] = got
                if possible <= 0:
                    errors.append(f"{name} {label}: no graded questions: {results}")
                elif label.startswith("wrong"):
                    q = label.split()[2]
                    if got[q][0] >= got[q][1]:
                        errors.append(
                            f"{name} {label}: {q} scored {got[q][0]:g}/{got[q][1]:g}, expected a loss"
                        )
            for a in assignments:
                errors += check_runs(
                    a.name, graded[a.name, "solution"], graded[a.name, "blank copy"],
                    question_names(zips[a.name]),
                )
            message = timeout_message(args.loop_timeout)
            for how, job in loops.items():
                results, elapsed = job.result()
                print(f"{first.name} infinite loop ({how}): score {results.get('score')} in {elapsed:.1f} s")
                if results.get("score") != 0 or results.get("output") != message:
                    errors.append(f"infinite loop ({how}): expected 0 and the time-limit message: {results}")
                if elapsed > args.loop_timeout + 30:
                    errors.append(
                        f"infinite loop ({how}): took {elapsed:.0f} s (limit {args.loop_timeout:g} s)"
                    )
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    checks = len(jobs) + len(loops)
    print(f"autograder zip: {checks - min(len(errors), checks)} passed, {min(len(errors), checks)} failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
