"""The library's modules share private code through the private modules (``_validation``,
``_scores``, …), never by importing another module's private helpers."""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "gradest"


def private_imports(source: str) -> list[str]:
    """``from gradest.<module> import _name`` statements: a private helper taken from a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradest."):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_module_imports_another_modules_private_helpers():
    offending = {
        path.name: names for path in sorted(LIB.glob("*.py")) if (names := private_imports(path.read_text()))
    }
    assert offending == {}


def test_the_rule_sees_a_private_import_and_allows_private_modules():
    assert private_imports("from gradest.estimators import Cost, _check_common") == [
        "gradest.estimators._check_common"
    ]
    assert private_imports("from gradest import _validation as v\nimport gradest._xla_flags") == []
