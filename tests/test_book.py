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
# Tags under which the site folds or hides a code cell's source.
FOLDED = {"hide-input", "remove-input", "remove-cell", "hide-cell"}
# Calls that create a matplotlib figure: ``plt.subplots``, ``plotting.column_figure``, ...
FIGURE_CALLS = {"figure", "subplots", "subplot_mosaic", "column_figure"}
# Keyword arguments that take a colour.
COLOUR_KEYWORDS = {
    "color", "c", "colors", "facecolor", "edgecolor", "fc", "ec",
    "markerfacecolor", "markeredgecolor", "mfc", "mec",
}
# Plot calls whose positional string arguments are format strings ("o", "k--", "r-").
FORMAT_CALLS = {"plot", "loglog", "semilogx", "semilogy", "errorbar", "step"}


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


def folded(cell):
    return bool(FOLDED & set(cell["metadata"].get("tags", [])))


def call_name(call):
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def checks(cell):
    """The ``assert`` statements and ``assert_*`` calls (``np.testing``) of a code cell."""
    tree = ast.parse(python_source(cell))
    return [
        ast.get_source_segment(python_source(cell), node).splitlines()[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Assert)
        or (isinstance(node, ast.Call) and call_name(node).startswith("assert"))
    ]


def creates_figure(cell):
    tree = ast.parse(python_source(cell))
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in FIGURE_CALLS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"plt", "plotting"}
        for node in ast.walk(tree)
    )


def is_grey(colour):
    """A colour string that carries no hue: a grey level, black, white or none."""
    from matplotlib.colors import to_rgb

    if colour.lower() == "none":
        return True
    try:
        red, green, blue = to_rgb(colour)
    except ValueError:
        return False
    return red == green == blue


def literal_hues(cell):
    """Colours a cell types as literals ("C0", "#1f77b4", "tab:blue", "r-") instead of taking
    them from ``plotting.estimator_style`` or ``plotting.color``."""
    found = []
    for node in ast.walk(ast.parse(python_source(cell))):
        pairs = []
        if isinstance(node, ast.Call):
            pairs += [(k.arg, k.value) for k in node.keywords]
            if call_name(node) in FORMAT_CALLS:
                pairs += [("format", arg) for arg in node.args]
        elif isinstance(node, ast.Dict):
            pairs += [(k.value, v) for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant)]
        for name, value in pairs:
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                continue
            if name in COLOUR_KEYWORDS and not is_grey(value.value):
                found.append(f"{name}={value.value!r}")
            if name == "format" and re.search(r"[bgrcmy]|C\d", value.value):
                found.append(f"format string {value.value!r}")
    return found


def estimators_drawn(cell):
    """Estimators a figure cell names by their ``plotting.ESTIMATOR_STYLES`` key, other than the
    exact value (a reference line, black and dotted)."""
    from gradest.plotting import ESTIMATOR_STYLES

    if not creates_figure(cell) or "estimator_style" not in python_source(cell):
        return set()
    strings = {
        node.value
        for node in ast.walk(ast.parse(python_source(cell)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return (strings & set(ESTIMATOR_STYLES)) - {"exact"}


def shared_colours(names):
    """Groups of ``names`` that ``plotting.ESTIMATOR_STYLES`` draws in the same colour."""
    from gradest.plotting import ESTIMATOR_STYLES

    by_colour = {}
    for name in sorted(names):
        by_colour.setdefault(ESTIMATOR_STYLES[name][0], []).append(name)
    return [group for group in by_colour.values() if len(group) > 1]


def unrounded_numbers(cell):
    """Numbers printed with nine or more decimals (``0.015599999576807022``): a float32 value
    printed at full precision, unreadable and fragile under nbval."""
    found = []
    for output in cell["outputs"]:
        data = output.get("data", {})
        if output["output_type"] == "stream":
            text = "".join(output["text"])
        elif "image/png" in data or any(key.startswith("application/") for key in data):
            continue  # a figure's repr, or a glued value (formatted where the prose uses it)
        else:
            text = "".join(data.get("text/markdown", data.get("text/plain", "")))
        found += re.findall(r"\d\.\d{9,}", text)
    return found


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

    def test_no_check_in_a_cell_readers_see(self, path):
        """Checks that guard the prose sit in folded cells: the page shows the calls and results."""
        for cell in code_cells(load(path)):
            found = [] if folded(cell) else checks(cell)
            assert not found, (
                f"{found[0]!r} in a visible cell: move it to the next cell, tagged hide-input"
            )

    def test_figure_code_is_folded(self, path):
        """A cell that builds a figure is boilerplate for the reader: its source is folded."""
        for cell in code_cells(load(path)):
            assert folded(cell) or not creates_figure(cell), (
                f"a figure built in a visible cell: tag it hide-input: {cell['source'][:2]}"
            )

    def test_colours_come_from_the_plotting_module(self, path):
        """One colour per estimator book-wide: chapters type no hue of their own."""
        for cell in code_cells(load(path)):
            found = literal_hues(cell)
            assert not found, (
                f"{found}: take colours from plotting.estimator_style or plotting.color"
            )

    def test_estimators_in_one_figure_differ_in_colour(self, path):
        """Two estimators compared in one figure never share a colour (line styles alone are
        hard to tell apart on markers and in legends)."""
        for cell in code_cells(load(path)):
            shared = shared_colours(estimators_drawn(cell))
            assert not shared, f"{shared} share a colour in one figure: see ESTIMATOR_STYLES"

    def test_printed_numbers_are_rounded(self, path):
        for cell in code_cells(load(path)):
            found = unrounded_numbers(cell)
            assert not found, f"{found[:2]} printed unrounded: round to 3-4 significant digits"

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


def test_the_reading_rules_flag_a_wrong_notebook():
    """The cell rules above catch what they are for: a check, a figure and a hue left visible."""

    def cell(source, tags=()):
        return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}

    check = cell("%time x = 1\nassert x == 1\n")
    testing = cell("np.testing.assert_allclose(a, b)")
    figure = cell("fig, ax = plotting.column_figure()\nax.plot(x, y)\nplt.show()")
    hues = cell('ax.plot(x, y, "r--", color="C0")\nax.axhline(0, **{"color": "tab:blue"})')
    assert checks(check) == ["assert x == 1"] and checks(testing)
    assert not checks(cell("x = assertion_level + 1"))
    assert creates_figure(figure) and creates_figure(cell("plt.figure()"))
    assert not creates_figure(cell("ax.plot(x, y)"))
    assert not folded(check) and folded(cell("assert True", ["hide-input"]))
    assert literal_hues(hues) == ["color='C0'", "format string 'r--'", "color='tab:blue'"]
    greys = cell('ax.plot(x, y, "k_", color="0.4")\nax.bar(x, y, color=plotting.color("blue"))')
    assert literal_hues(greys) == []
    pair = cell('fig, ax = plt.subplots()\nfor name in ("rloo", "exact", "baseline"):\n'
                '    ax.plot(x, y, **plotting.estimator_style(name))')
    assert estimators_drawn(pair) == {"rloo", "baseline"} and not shared_colours({"rloo", "baseline"})
    assert shared_colours({"score_function", "disarm", "rloo"}) == [["disarm", "score_function"]]
    printed = dict(cell("print(p)"), outputs=[
        {"output_type": "stream", "name": "stdout", "text": "rates [0.015599999576807022, 0.1875]"},
        {"output_type": "display_data", "data": {"text/plain": "0.4"}},
    ])
    assert unrounded_numbers(printed) == ["0.015599999576807022"]
