"""The committed SigmaHQ compatibility report (docs/sigma-compatibility.md) is up to date."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from detect.resources import ROOT

SIGMA_ROOT = ROOT.parent / "shared" / "sigma"
SCRIPT = ROOT / "scripts" / "sigma_compat.py"

pytestmark = pytest.mark.skipif(
    not SIGMA_ROOT.is_dir(), reason=f"SigmaHQ rules not present at {SIGMA_ROOT}"
)


@pytest.fixture(scope="module")
def compat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sigma_compat", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_committed_report_is_fresh(compat: ModuleType) -> None:
    assert compat.main(["--check", "--sigma", str(SIGMA_ROOT)]) == 0, (
        "docs/sigma-compatibility.md is stale: run .venv/bin/python scripts/sigma_compat.py"
    )


def test_no_unsupported_rule_is_silently_accepted(compat: ModuleType) -> None:
    """Each rule under unsupported/ is rejected with a reason, or loads with a reported problem."""
    outcomes = compat.load_outcomes(SIGMA_ROOT, compat.rule_files(SIGMA_ROOT, "unsupported"))
    assert outcomes
    silent = [o.path for o in outcomes if o.loaded and not o.fields]
    assert not silent
    for outcome in outcomes:
        assert all(reason.split(": ", 1)[1].strip() for reason in outcome.errors)
