"""Results shown as tables: a Markdown table from a header and rows, for chapters to display.

A chapter writes ``display(Markdown(markdown_table(header, rows)))``: the site renders a table that
fits the content column instead of wide printed text.
"""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], *, align: str | None = None
) -> str:
    """A GitHub-flavoured Markdown table.

    Args:
      header: the column titles, C >= 1 strings.
      rows: each a sequence of C cells, formatted with ``str`` (round numbers before passing them);
        a ``|`` in a cell is escaped.
      align: one letter per column, ``l``, ``r`` or ``c``; default: the first column left, the others
        right.

    Returns:
      The table as a string, one line per row.

    Raises:
      ValueError: if a row does not have C cells, ``align`` has the wrong length or an unknown letter,
        or a cell contains a line break.
    """
    ncols = len(header)
    if ncols < 1:
        raise ValueError("header must name at least one column, got none")
    align = align if align is not None else "l" + "r" * (ncols - 1)
    if len(align) != ncols or set(align) - set("lrc"):
        raise ValueError(f"align must be {ncols} letters from 'l', 'r', 'c', got {align!r}")
    rule = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule[a] for a in align) + " |"]
    for i, row in enumerate(rows):
        cells = [str(c).replace("|", "\\|") for c in row]
        if len(cells) != ncols:
            raise ValueError(f"rows[{i}] must have {ncols} cells like the header, got {len(cells)}")
        for c in cells:
            if "\n" in c:
                raise ValueError(f"rows[{i}] has a cell with a line break: {c!r}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
