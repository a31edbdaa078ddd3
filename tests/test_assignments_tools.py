"""Tests of the grading tools in assignments/: the time limit, the CSV of grades, the zip's pins."""

import json
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assignments"))
import grade
from autograder_timeout import run_with_limit, timeout_message, timeout_results

ROOT = Path(__file__).resolve().parents[1]

MASTERS = sorted((ROOT / "assignments").glob("a[0-9]*_*.ipynb"))

# A process that starts a grandchild in a session of its own (as jupyter_client starts a kernel),
# writes the grandchild's pid, and then never ends.
HANG = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
open(sys.argv[1], "w").write(str(child.pid))
while True:
    time.sleep(0.1)
"""


def test_time_limit_stops_the_tree_and_scores_zero(tmp_path):
    pid_file, results = tmp_path / "pid", tmp_path / "out" / "results.json"
    start = time.perf_counter()
    finished = run_with_limit([sys.executable, "-c", HANG, str(pid_file)], results, timeout_s=3)
    assert not finished
    assert time.perf_counter() - start < 20
    kernel = int(pid_file.read_text())
    # Killed: gone, or a zombie waiting for a reaper that this container may lack.
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
    out = json.loads(results.read_text())
    assert out["score"] == 0 and out["output"] == timeout_message(3) and "3 s" in out["output"]
    assert out["extra_data"] == {"timed_out": True}


def test_time_limit_leaves_a_quick_command_alone(tmp_path):
    results = tmp_path / "results.json"
    assert run_with_limit([sys.executable, "-c", "pass"], results, timeout_s=30)
    assert not results.exists()


@pytest.mark.parametrize("bad", [0, -1.0])
def test_time_limit_rejects_a_non_positive_limit(tmp_path, bad):
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        run_with_limit([sys.executable, "-c", "pass"], tmp_path / "r.json", timeout_s=bad)


def write_results(folder: Path, student: str, results: dict) -> None:
    (folder / student).mkdir(parents=True)
    (folder / student / "results.json").write_text(json.dumps(results))


def test_csv_of_grades(tmp_path):
    tests = lambda scores: (
        [{"name": "Public Tests", "output": "..."}]
        + [{"name": f"q{i}", "score": s, "max_score": m} for i, (s, m) in scores.items()]
    )
    write_results(tmp_path, "alice", {"tests": tests({1: (3, 3), 2: (5, 5), 10: (2, 2)})})
    write_results(tmp_path, "bob", {"tests": tests({1: (1, 3), 2: (0, 5), 10: (2, 2)})})
    write_results(tmp_path, "carol", timeout_results(600))
    header, rows = grade.grades_table(tmp_path)
    assert header == ["student", "q1", "q2", "q10", "total", "possible", "note"]
    assert rows == [
        ["alice", "3", "5", "2", "10", "10", ""],
        ["bob", "1", "0", "2", "3", "10", ""],
        ["carol", "0", "0", "0", "0", "10", "time limit"],
    ]
    out = subprocess.run(
        [sys.executable, str(ROOT / "assignments" / "grade.py"), "csv", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[0] == "student,q1,q2,q10,total,possible,note"
    assert out.splitlines()[3] == "carol,0,0,0,0,10,time limit"


def test_csv_of_an_empty_folder_says_what_it_needs(tmp_path):
    with pytest.raises(ValueError, match=r"STUDENT/results\.json"):
        grade.grades_table(tmp_path)


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return dict(line.split("==") for line in lines if "==" in line)


def test_autograder_pins_are_the_books():
    book = pins(ROOT / "requirements.txt")
    grading = pins(ROOT / "assignments" / "autograder-requirements.txt")
    assert {"jax", "jaxlib", "numpy", "scipy", "matplotlib"} <= set(grading)
    assert {name: book.get(name) for name in grading} == grading


def test_autograder_installs_the_books_wheel_from_the_zip():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    lines = (ROOT / "assignments" / "autograder-requirements.txt").read_text().splitlines()
    gradest = [line for line in lines if "gradest" in line and not line.startswith("#")]
    assert gradest == [f"/autograder/source/gradest-{version}-py3-none-any.whl"]
    otter = pins(ROOT / "assignments" / "requirements.txt")["otter-grader"]
    for master in MASTERS:
        text = master.read_text()
        assert f"otter-grader=={otter}" in text, f"{master.name}: the install cell pins another otter"


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_master_starts_with_install_cell_and_ships_test_files(master):
    cells = json.loads(master.read_text())["cells"]
    config = "".join(cells[0]["source"])
    assert config.startswith("# ASSIGNMENT CONFIG")
    assert "requirements: autograder-requirements.txt" in config
    assert "init_cell: false" in config, "otter's own init cell would import otter before installing it"
    assert re.search(r"tests:\n  files: true", config), "students need tests/ files (Colab)"
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert "%pip install" in code[0] and "find_spec" in code[0], "the first code cell installs"
    assert f'otter.Notebook("{master.stem}.ipynb", tests_dir="tests")' in code[1]


def test_written_answers_pair_each_placeholder_with_the_solution_after_it():
    import nbformat
    from check_student_side import ANSWER_PLACEHOLDER, written_answers

    cells = [
        nbformat.v4.new_markdown_cell("<!-- BEGIN QUESTION -->\n\n**Question 4**"),
        nbformat.v4.new_markdown_cell(ANSWER_PLACEHOLDER),
        nbformat.v4.new_markdown_cell("The bias is $O(1/N)$."),
        nbformat.v4.new_markdown_cell("<!-- END QUESTION -->"),
    ]
    solution = nbformat.v4.new_notebook(cells=cells)
    assert written_answers(solution) == {cells[1].id: "The bias is $O(1/N)$."}


def test_pdf_text_is_compared_without_line_breaks_hyphens_or_tex_spacing():
    from check_student_side import normalized

    typed = "independent of the correction (or leave-one-out), $\\hat c\\,(\\bar h - h)$"
    extracted = "independent of the\ncorrection (or leave-oneout), $\\hat c\\,(\\bar h h)$"
    assert normalized(typed) == normalized(extracted)
    assert normalized("the bias is O(1/N)") not in normalized("the bias is O(1/sqrt N)")


def test_pdf_check_rejects_a_file_that_is_not_a_pdf(tmp_path):
    from check_student_side import check_pdf

    fake = tmp_path / "answers.pdf"
    fake.write_text("not a PDF")
    assert check_pdf("a1", fake, ["anything"]) == ["a1 PDF: answers.pdf is missing or not a PDF"]
    assert check_pdf("a1", tmp_path / "missing.pdf", []) != []


def test_pdf_export_uses_the_system_browser_named_by_chromium(monkeypatch):
    from export_pdf import system_chromium

    monkeypatch.setenv("CHROMIUM", "/opt/browser/chrome")
    assert system_chromium() == "/opt/browser/chrome"


def test_pdf_export_sets_playwrights_browser_once(monkeypatch):
    from export_pdf import default_playwright_browser
    from playwright.async_api import BrowserType

    monkeypatch.setattr(BrowserType, "launch", BrowserType.launch)  # restored after the test
    original = BrowserType.launch
    default_playwright_browser("/usr/bin/chromium")
    patched = BrowserType.launch
    default_playwright_browser("/usr/bin/chromium")
    assert patched is not original and BrowserType.launch is patched
    assert patched.default_executable == "/usr/bin/chromium"


def test_edited_wrong_answers_start_from_the_masters_solution():
    from wrong_answers import _A6_REBAR, _A6_TUNE

    cells = json.loads((ROOT / "assignments" / "a6_rebar_relax.ipynb").read_text())["cells"]
    solutions = [
        "\n".join(
            line
            for line in "".join(c["source"]).splitlines()
            if "# BEGIN" not in line and "# END" not in line
        )
        for c in cells
        if c["cell_type"] == "code"
    ]
    for source in (_A6_REBAR, _A6_TUNE):
        assert source.strip() in solutions, source.splitlines()[1]


def test_check_runs_flags_a_lost_point_a_missing_question_and_a_scoring_blank():
    from check_grading import check_runs

    full = {"q1": (3.0, 3.0), "q2": (5.0, 5.0)}
    assert check_runs("a", full, {"q1": (0.0, 3.0), "q2": (0.0, 5.0)}, {"q1", "q2"}) == []
    assert check_runs("a", full, None, {"q1", "q2"}) == []
    lost = check_runs("a", {**full, "q2": (4.0, 5.0)}, None, {"q1", "q2"})
    assert lost == ["a solution: q2 scored 4/5, expected full marks"]
    assert "graded questions" in check_runs("a", full, None, {"q1", "q2", "q3"})[0]
    blank = check_runs("a", full, {"q1": (1.0, 3.0), "q2": (0.0, 5.0)}, {"q1", "q2"})
    assert blank == ["a blank copy: q1 scored 1/3, expected 0"]
