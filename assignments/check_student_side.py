"""Check what a student does with an assignment (part of `make assignments-zip-check`, not of make test).

For every assignment that `make assignments` generated under DIST (default ``dist/assignments``):

1. What a student downloads (``NAME-student.zip``: the notebook and its ``tests/`` folder), unpacked
   alone in an empty folder, runs from a fresh kernel with the solutions filled in, and every
   ``grader.check`` there reports that its public tests pass: the checks need no repository, no
   Gradescope and no notebook metadata (so they also run on Colab and JupyterHub).
2. That filled-in notebook, with the solution's text typed into each written (hand-graded) answer,
   is exported to PDF by ``export_pdf.py`` (otter's exporter, Debian's Chromium): the file is a PDF
   with at least one page, its text holds every written answer and no code question (the PDF is
   filtered to the hand-graded questions), and an answer that nobody typed is not found in it. The
   text is read with ``pdftotext`` (poppler-utils).

Usage: python assignments/check_student_side.py [DIST] [--jobs N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_pdf import export_pdf

ANSWER_PLACEHOLDER = "_Type your answer here, replacing this text._"


def written_answers(solution: nbformat.NotebookNode) -> dict[str, str]:
    """{id of a placeholder cell: the solution's answer}: otter puts the answer right after it."""
    cells = solution.cells
    return {
        cell.id: cells[i + 1].source
        for i, cell in enumerate(cells[:-1])
        if cell.cell_type == "markdown" and cell.source.strip() == ANSWER_PLACEHOLDER
    }


def normalized(text: str) -> str:
    """Letters and digits only: line breaks, hyphenation and TeX spacing do not survive a PDF."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def check_pdf(name: str, pdf: Path, answers: list[str]) -> list[str]:
    if not pdf.exists() or not pdf.read_bytes().startswith(b"%PDF-"):
        return [f"{name} PDF: {pdf.name} is missing or not a PDF"]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    errors = [] if pages >= 1 else [f"{name} PDF: no pages"]
    for answer in answers:
        if normalized(answer) not in normalized(text):
            errors.append(f"{name} PDF: the written answer is not in it: {answer[:80]!r}...")
    if "Question 1 (" in text:
        errors.append(f"{name} PDF: holds the code questions (not filtered to the written ones)")
    return errors


def check_student(name: str, assignment: Path) -> tuple[list[str], float, float]:
    """Run the student's download with the solutions filled in, export its PDF: (errors, seconds)."""
    from nbclient import NotebookClient

    solution_nb = nbformat.read(assignment / "autograder" / f"{name}.ipynb", as_version=4)
    solution = {c.id: c for c in solution_nb.cells}
    answers = written_answers(solution_nb)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(assignment / f"{name}-student.zip") as zf:
            zf.extractall(tmp)
        path = Path(tmp) / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.id in solution:
                cell.source = solution[cell.id].source
            elif cell.id in answers:
                cell.source = answers[cell.id]
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=300, resources={"metadata": {"path": tmp}}).execute()
        except Exception as e:
            return [f"{name} student download: the notebook fails in a fresh kernel: {e}"], 0.0, 0.0
        t_run = time.perf_counter() - start
        errors = []
        checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("grader.check(")]
        for cell in checks:
            outputs = (o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
            text = "".join(outputs)
            if "All test cases passed" not in text:
                errors.append(f"{name} student download: {cell.source} does not pass: {text[:300]}")
        if not checks:
            errors.append(f"{name} student download: no grader.check cells")
        if not answers:
            errors.append(f"{name}: no written answer to export (no {ANSWER_PLACEHOLDER!r} cell)")
        nbformat.write(nb, path)
        start = time.perf_counter()
        try:
            pdf = export_pdf(path, path.with_suffix(".pdf"))
        except Exception as e:
            return [*errors, f"{name} PDF export failed: {e}"], t_run, 0.0
        t_pdf = time.perf_counter() - start
        errors += check_pdf(name, pdf, list(answers.values()))
        if not check_pdf(name, pdf, ["an answer that nobody typed"]):
            errors.append(f"{name} PDF: the check finds an answer that is not there: it cannot fail")
    return errors, t_run, t_pdf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dist", nargs="?", default="dist/assignments", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel")
    args = parser.parse_args()
    missing = [tool for tool in ("pdftotext", "pdfinfo") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not found: install Debian's poppler-utils (see .ci/run)")
    assignments = sorted(p for p in args.dist.iterdir() if (p / "autograder").is_dir())
    if not assignments:
        raise SystemExit(f"no assignments under {args.dist} (run make assignments)")
    with ThreadPoolExecutor(args.jobs) as pool:
        jobs = {a.name: pool.submit(check_student, a.name, a) for a in assignments}
        results = {name: job.result() for name, job in jobs.items()}
    errors = []
    for name, (errs, t_run, t_pdf) in results.items():
        print(
            f"{name}: student download {'FAIL' if errs else 'pass'} (public checks in a fresh kernel, "
            f"{t_run:.1f} s; PDF of the written answers, {t_pdf:.1f} s)"
        )
        errors += errs
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
