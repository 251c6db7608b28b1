"""The stage layering (docs/architecture.md) as a test: the import-linter contracts in
pyproject.toml (layers, the Sigma side apart, no package cycle), and the one rule they cannot
say: no module outside `matching` and `pipeline` imports both the audit side and the Sigma side.
Each check is also run on a copy of the package with a deliberately wrong import, and must fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
AUDIT_SIDE = ("detect.sources", "detect.auditd", "detect.proctree", "detect.views")
SIGMA_SIDE = ("detect.sigma",)
MEETING = ("detect.matching", "detect.pipeline")  # where the two sides meet (DESIGN §1)


def _under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def both_sides(root: Path = ROOT) -> list[str]:
    """Modules outside MEETING that import (at run time) from both sides, with what; for
    another copy of the package than the one imported here, in a process of its own."""
    if root != ROOT:
        env = {**os.environ, "PYTHONPATH": str(root)}
        command = [sys.executable, __file__]
        run = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout.splitlines()
    graph = grimp.build_graph("detect", exclude_type_checking_imports=True, cache_dir=None)
    found = []
    for module in sorted(graph.modules):
        if _under(module, MEETING):
            continue
        imported = graph.find_modules_directly_imported_by(module)
        audit = sorted(m for m in imported if _under(m, AUDIT_SIDE))
        sigma = sorted(m for m in imported if _under(m, SIGMA_SIDE))
        if audit and sigma:
            found.append(f"{module} imports {audit[0]} and {sigma[0]}")
    return found


if __name__ == "__main__":
    sys.stdout.writelines(line + "\n" for line in both_sides())


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "detect", tmp_path / "detect", ignore=shutil.ignore_patterns("*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_import(root: Path, module: str, statement: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(f"{statement}\n{path.read_text(encoding='utf-8')}", encoding="utf-8")


def test_the_contracts_hold() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_only_matching_and_pipeline_import_both_sides() -> None:
    assert both_sides() == []


def test_an_import_against_the_layers_breaks_a_contract(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _add_import(root, "detect.auditd.record", "import detect.sigma.model  # noqa")
    run = lint_imports(root)
    assert run.returncode != 0
    assert "Stages import only the stages below them BROKEN" in run.stdout
    assert "detect.auditd.record -> detect.sigma.model" in run.stdout


def test_a_package_cycle_breaks_a_contract(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _add_import(root, "detect.matching.dispatch", "import detect.matching.alert  # noqa")
    run = lint_imports(root)
    assert "No import cycle between the packages of a level BROKEN" in run.stdout


def test_a_module_importing_both_sides_is_found(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _add_import(root, "detect.outputs.summary", "import detect.sigma.model  # noqa")
    added = set(both_sides(root)) - set(both_sides())
    assert added == {
        "detect.outputs.summary imports detect.auditd.reassemble and detect.sigma.model"
    }
