"""The Sigma side knows nothing about the audit log format: `detect/rules` imports no input side."""

from __future__ import annotations

import ast
from pathlib import Path

import detect.rules

FORBIDDEN = ("detect.auditd", "detect.sources", "detect.proctree", "detect.engine", "detect.cli")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_rules_never_import_the_input_side() -> None:
    package = Path(detect.rules.__file__).parent
    offenders = {
        f"{path.name}: {module}"
        for path in sorted(package.glob("*.py"))
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN)
    }
    assert offenders == set()
