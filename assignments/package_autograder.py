"""Make the autograder zips that `otter assign` wrote self-contained, and zip each student folder.

For every assignment under DIST (default ``dist/assignments``):

1. The autograder zip gets the ``gradest`` wheel built from ``lib/`` (the version of the book) at its
   root, where its ``environment.yml`` installs it from (``/autograder/source/...``, the line that
   ``autograder-requirements.txt`` puts there): Gradescope builds the image from the zip alone.
2. It gets ``autograder_timeout.py``, and its ``run_autograder`` calls that instead of otter's
   ``run_otter.py``, so a submission that runs past ``--timeout`` seconds scores zero with a message.
3. ``NAME-student.zip`` holds what a student downloads: the student notebook and its ``tests/``
   folder of public tests, which ``grader.check`` reads on Colab, JupyterHub or a laptop.

Usage: python assignments/package_autograder.py [DIST] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder_timeout import DEFAULT_TIMEOUT_S

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

OTTER_ENTRY = "python /autograder/source/run_otter.py"
SOURCE_DIR = "/autograder/source"


def build_wheel(out_dir: Path) -> Path:
    """Build the gradest wheel from a clean copy of lib/ (no build files left in the checkout)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, src / name)
        shutil.copytree(ROOT / "lib", src / "lib", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
        out_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out_dir), str(src)]
        subprocess.run(command, check=True)
    wheels = sorted(out_dir.glob("gradest-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one gradest wheel in {out_dir}, found {[w.name for w in wheels]}")
    return wheels[0]


def package_zip(zip_path: Path, wheel: Path, timeout_s: float) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        entries = {info.filename: zf.read(info) for info in zf.infolist()}
    environment = entries["environment.yml"].decode()
    wheel_line = f"{SOURCE_DIR}/{wheel.name}"
    if wheel_line not in environment:
        raise SystemExit(
            f"{zip_path}: environment.yml does not install {wheel_line}; "
            "is autograder-requirements.txt the assignment's `requirements`?"
        )
    run = entries["run_autograder"].decode()
    if OTTER_ENTRY not in run:
        raise SystemExit(f"{zip_path}: run_autograder does not call {OTTER_ENTRY!r}:\n{run}")
    entry = f"python {SOURCE_DIR}/autograder_timeout.py --timeout {timeout_s:g} /autograder"
    entries["run_autograder"] = run.replace(OTTER_ENTRY, entry).encode()
    entries[wheel.name] = wheel.read_bytes()
    entries["autograder_timeout.py"] = (HERE / "autograder_timeout.py").read_bytes()
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            # run_autograder must stay executable for Gradescope.
            info.external_attr = (0o755 if name == "run_autograder" else 0o644) << 16
            zf.writestr(info, data)


def student_zip(assignment: Path) -> Path:
    student = assignment / "student"
    if not (student / "tests").is_dir():
        raise SystemExit(f"{student}: no tests/ folder (set `tests: files: true` in the master's config)")
    out = assignment / f"{assignment.name}-student.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(student.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                zf.write(path, arcname=str(path.relative_to(student)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dist", nargs="?", default="dist/assignments", type=Path)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per submission")
    args = parser.parse_args()
    assignments = sorted(p for p in args.dist.iterdir() if (p / "autograder").is_dir())
    if not assignments:
        raise SystemExit(f"no assignments under {args.dist} (run otter assign first)")
    wheel = build_wheel(args.dist.parent / "wheel")
    for a in assignments:
        zips = sorted((a / "autograder").glob("*-autograder_*.zip"))
        if len(zips) != 1:
            raise SystemExit(f"{a}: expected one autograder zip, found {len(zips)}")
        package_zip(zips[0], wheel, args.timeout)
        print(f"{a.name}: {zips[0].name} (+ {wheel.name}, {args.timeout:g} s limit), {student_zip(a).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
