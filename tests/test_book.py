"""Checks of the book's sources: table of contents, notebooks executed in order, figures, exercises."""

import ast
import base64
import json
import re
import struct
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BIB_KEYS = set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text()))
PAPER_HOSTS = re.compile(
    r"https?://(arxiv\.org|papers\.nips\.cc|proceedings\.|openreview\.net|doi\.org|dl\.acm)"
)


MAX_CODE_LINE = 88
MAX_CELL_LINES = 40
# Names a chapter may rebind from cell to cell: figures and throwaway values.
REBINDABLE = {"fig", "ax", "axes", "_"}


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def load(path):
    return json.loads(path.read_text())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def python_source(cell):
    """A code cell's source with IPython magics and shell escapes blanked out, for ``ast``."""
    lines = "".join(cell["source"]).splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def top_level_bindings(tree):
    """Names a cell binds at the notebook's top level, other than imports and loop variables."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.With):
            targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names - REBINDABLE


def png_size(data):
    """Width in pixels and resolution in dots per inch of a base64 PNG (72 dpi when unstated)."""
    raw = base64.b64decode(data)
    width = struct.unpack(">I", raw[16:20])[0]
    phys = raw.find(b"pHYs")
    dpi = round(struct.unpack(">I", raw[phys + 4 : phys + 8])[0] * 0.0254) if phys > 0 else 72
    return width, dpi


def markdown(nb):
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_every_toc_entry_exists():
    for entry in toc_files():
        matches = [p for p in (ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb") if p.exists()]
        assert matches, f"_toc.yml lists {entry}, which is neither .md nor .ipynb"


def test_every_page_under_book_is_in_the_toc():
    listed = set(toc_files())
    for page in sorted(BOOK.glob("*.md")) + NOTEBOOKS:
        assert str(page.relative_to(ROOT).with_suffix("")) in listed, f"{page.name} is not in _toc.yml"


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
class TestNotebook:
    def test_imports_gradest(self, path):
        source = "\n".join("".join(c["source"]) for c in code_cells(load(path)))
        assert re.search(r"^\s*(import gradest|from gradest)", source, re.M)

    def test_executed_top_to_bottom(self, path):
        counts = [c["execution_count"] for c in code_cells(load(path))]
        assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: run make execute"

    def test_no_stored_errors_unless_tagged(self, path):
        for cell in code_cells(load(path)):
            tags = cell["metadata"].get("tags", [])
            errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
            assert not errors or "raises-exception" in tags, (
                f"stored {errors[0]['ename']} in an untagged cell"
            )
            stderr = [o for o in cell["outputs"] if o.get("name") == "stderr"]
            assert not stderr or "raises-exception" in tags, (
                f"stderr in the outputs: {stderr[0]['text'][:200]}"
            )

    def test_first_cell_installs_the_library_from_the_configured_repository(self, path):
        first = "".join(code_cells(load(path))[0]["source"])
        assert "import gradest" in first and "%pip install" in first
        assert f"git+{CONFIG['repository']['url']}" in first

    def test_figures_have_captions_and_alt_text(self, path):
        for cell in code_cells(load(path)):
            if any("image/png" in o.get("data", {}) for o in cell["outputs"]):
                meta = cell["metadata"].get("mystnb", {})
                assert meta.get("figure", {}).get("caption"), f"figure without caption: {cell['source'][:80]}"
                assert meta.get("image", {}).get("alt"), f"figure without alt text: {cell['source'][:80]}"

    def test_code_fits_the_column(self, path):
        for cell in code_cells(load(path)):
            lines = "".join(cell["source"]).splitlines()
            long = [line for line in lines if len(line) > MAX_CODE_LINE]
            assert not long, f"{len(long)} line(s) over {MAX_CODE_LINE} characters: {long[0]!r}"
            assert len(lines) <= MAX_CELL_LINES, (
                f"a cell of {len(lines)} lines (at most {MAX_CELL_LINES}): {lines[0]!r}"
            )

    def test_one_name_one_meaning(self, path):
        """A top-level name is bound in one cell only, so re-running a cell changes nothing after it."""
        first_cell = {}
        for index, cell in enumerate(code_cells(load(path))):
            for name in top_level_bindings(ast.parse(python_source(cell))):
                assert name not in first_cell, (
                    f"{name!r} is bound in code cells {first_cell[name]} and {index}: "
                    "use one name per meaning and jax.random.fold_in(key, tag) per experiment"
                )
                first_cell[name] = index

    def test_figures_are_drawn_for_the_column(self, path):
        for cell in code_cells(load(path)):
            for output in cell["outputs"]:
                if "image/png" in output.get("data", {}):
                    width, dpi = png_size(output["data"]["image/png"])
                    assert dpi >= 150, f"a figure at {dpi} dpi (at least 150): use plotting.use_style()"
                    assert width / dpi <= 7.6, f"a figure {width / dpi:.1f} in wide (at most 7.5 in)"

    def test_no_figure_reprs_in_outputs(self, path):
        for cell in code_cells(load(path)):
            for output in cell["outputs"]:
                text = "".join(output.get("data", {}).get("text/plain", ""))
                assert "matplotlib" not in text or "image/png" in output.get("data", {}), text

    def test_exercises_with_solutions(self, path):
        text = markdown(load(path))
        minimum = 2 if path.name[:2] in {"11", "12", "13"} else 3
        exercises = re.findall(r"\{exercise\}\s*\n:label:\s*(\S+)", text)
        solutions = re.findall(r"\{solution\}\s+(\S+)", text)
        assert len(exercises) >= minimum, f"{len(exercises)} exercises"
        assert set(exercises) <= set(solutions), "an exercise without a solution"
        assert len(re.findall(r"\{solution\}[^\n]*\n:class: dropdown", text)) == len(solutions)


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.md")) + NOTEBOOKS, ids=lambda p: p.name)
def test_cross_references_are_labels_not_typed_numbers(path):
    """Chapters are numbered by the table of contents: prose links them, it never types a number."""
    text = markdown(load(path)) if path.suffix == ".ipynb" else path.read_text()
    typed = re.findall(r"\b(?:[Cc]hapters?|[Ff]igures?|[Ee]xercises?|[Ss]ections?) \d+\b", text)
    assert not typed, f"hand-written numbers {typed[:3]}: use {{doc}}, {{numref}} or {{ref}}"
    bare = re.findall(r"\{doc\}`[^`<]*`", text)
    assert not bare, f"{bare[:2]} prints the whole title mid-sentence: give {{doc}} explicit text"


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.md")) + NOTEBOOKS, ids=lambda p: p.name)
def test_citations_exist_and_papers_are_not_bare_links(path):
    text = markdown(load(path)) if path.suffix == ".ipynb" else path.read_text()
    for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
        for key in group.split(","):
            assert key.strip() in BIB_KEYS, f"{key} is not in references.bib"
    assert not PAPER_HOSTS.search(text), "cite papers through references.bib, not bare links"
