"""The import direction of the design, checked on the source (no module is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OURS = ("adapters", "admin", "baibain", "bot", "knowledge")

# layer -> modules of ours it may import (prefixes)
ALLOWED = {
    "adapters": ("adapters", "bot.turns"),
    "knowledge": ("knowledge",),
    "admin": ("admin", "knowledge"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{path}: relative import; use absolute imports")
    return [name for name in found if name.split(".")[0] in OURS]


def _allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_the_design_allows(layer: str) -> None:
    violations = []
    for path in sorted((REPO / layer).rglob("*.py")):
        for name in _imports(path):
            if not _allowed(name, ALLOWED[layer]):
                violations.append(f"{path.relative_to(REPO)} imports {name}")
    assert violations == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from admin.orgs import create_org\n", "utf-8")
    assert _imports(bad) == ["admin.orgs"]
