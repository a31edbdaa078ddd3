"""Tests of gradest.tables."""

from __future__ import annotations

import pytest

from gradest.tables import markdown_table


def test_markdown_table_layout():
    text = markdown_table(["method", "variance"], [["RLOO", "0.75"], ["none", 1.0]])
    assert text.splitlines() == [
        "| method | variance |",
        "| :-- | --: |",
        "| RLOO | 0.75 |",
        "| none | 1.0 |",
    ]
    assert markdown_table(["z"], [["|z| = 1"]]).splitlines()[-1] == "| \\|z\\| = 1 |"


@pytest.mark.parametrize(
    ("rows", "align", "match"),
    [([["a"]], None, "rows\\[0\\]"), ([["a", "b\nc"]], None, "line break"), ([["a", "b"]], "lx", "align")],
)
def test_markdown_table_rejects_bad_input(rows, align, match):
    with pytest.raises(ValueError, match=match):
        markdown_table(["x", "y"], rows, align=align)
