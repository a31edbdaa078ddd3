"""A reader's kernel has what the chapters import: the `book` extra, the install cell, Binder and Thebe.

A chapter opened on Colab, Binder, a JupyterHub or a plain local kernel installs ``gradest[book]`` in
its first cell. These checks keep three lists in step with the chapters' imports: the extra in
``pyproject.toml``, the modules the install cell looks for, and the pinned Binder requirements.
"""

import ast
import functools
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOOL_CHAIN = ("jupyter-book", "sphinx", "pytest", "ruff", "playwright", "nbval", "hypothesis", "otter")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_name(requirement: str) -> str:
    return normalize(re.split(r"[\s<>=!~;\[@]", requirement.strip(), maxsplit=1)[0])


BASE = {dist_name(r) for r in PROJECT["dependencies"]}
BOOK = {dist_name(r) for r in PROJECT["optional-dependencies"]["book"]}
DISTS = importlib.metadata.packages_distributions()


@functools.cache  # the notebooks hold their figures: read each once
def code(nb_path: Path) -> list[str]:
    cells = json.loads(nb_path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


@functools.cache
def imports(source: str) -> frozenset[str]:
    """Top-level modules imported by a cell (IPython magics and shell lines left out)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    names = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in sys.stdlib_module_names and m != "gradest"}


def provider(module: str) -> set[str]:
    return {normalize(d) for d in DISTS.get(module, [])}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_import_is_in_the_book_extra(path):
    for module in sorted(third_party(set().union(*map(imports, code(path))))):
        dists = provider(module)
        assert dists, f"{module}: not installed in this environment, so no extra can provide it"
        assert dists & (BASE | BOOK), f"{path.name} imports {module} ({dists}): add it to the `book` extra"


def test_the_extra_holds_only_what_chapters_import():
    imported = set().union(*(third_party(imports(cell)) for path in NOTEBOOKS for cell in code(path)))
    providers = set().union(*map(provider, imported))
    assert providers >= BOOK, f"in the `book` extra but imported by no chapter: {sorted(BOOK - providers)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_installs_the_extra(path):
    first = code(path)[0]
    url = CONFIG["repository"]["url"]
    assert '"gradest[book] @ {book}"' in first and f'book = "git+{url}"' in first, first
    needed = re.search(r"needed = \(([^)]*)\)", first)
    assert needed, "the install cell lists the modules it needs in `needed = (...)`"
    listed = set(re.findall(r'"(\w+)"', needed[1]))
    # Every module of the extra, so that a kernel missing any of them installs it (IPython runs the cell).
    extra_modules = {m for m, ds in DISTS.items() if {normalize(d) for d in ds} & BOOK and m.isidentifier()}
    wanted = extra_modules & set().union(*(imports(c) for p in NOTEBOOKS for c in code(p)))
    assert listed >= {"gradest"} | (wanted - {"IPython"}), f"missing from `needed`: {sorted(wanted - listed)}"


def test_binder_is_python_311_with_the_books_pins_and_no_tool_chain():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    lines = [
        line.split("#")[0].strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    ]
    lines = [line for line in lines if line]
    assert "." in lines, "binder/requirements.txt installs gradest from the repository"
    pins = dict(line.split("==") for line in lines if "==" in line)
    pins = {normalize(k): v for k, v in pins.items()}
    assert (BASE | BOOK) <= set(pins), f"not pinned for Binder: {sorted((BASE | BOOK) - set(pins))}"
    book_pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            book_pins[normalize(name)] = version
    for name, version in pins.items():
        assert book_pins.get(name, version) == version, f"{name}: Binder {version}, book {book_pins[name]}"
        assert not name.startswith(TOOL_CHAIN), f"{name}: the test tool chain does not belong on Binder"


def test_launch_buttons_offer_binder_colab_and_live_code():
    buttons = CONFIG["launch_buttons"]
    assert buttons["binderhub_url"] and buttons["colab_url"]
    assert buttons["thebe"] is True


def test_make_lab_gives_the_kernels_a_compilation_cache(tmp_path: Path) -> None:
    """`make lab`'s environment makes JAX write what a kernel compiles to the cache directory."""
    cache = tmp_path / "jax-cache"
    recipe = subprocess.run(
        ["make", "-s", "-n", "--no-print-directory", "lab", f"JAX_CACHE={cache}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in recipe.splitlines() if "jupyter lab" in line)
    env = dict(item.split("=", 1) for item in shlex.split(line) if re.fullmatch(r"[A-Z_]+=.*", item))
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(cache)
    program = (
        "import jax, jax.numpy as jnp; jax.jit(lambda x: jnp.sin(x) * 2)(jnp.ones(3)).block_until_ready()"
    )
    subprocess.run([sys.executable, "-c", program], env={**os.environ, **env}, check=True)
    assert any(cache.iterdir()), "nothing written to the compilation cache"
