"""The committed SigmaHQ compatibility report (docs/sigma-compatibility.md) is up to date."""

from __future__ import annotations

from types import ModuleType

import pytest

from detect.core.resources import ROOT
from tests.scripts import load_script

SIGMA_ROOT = ROOT.parent / "shared" / "sigma"
SCRIPT = ROOT / "scripts" / "sigma_compat.py"

pytestmark = pytest.mark.skipif(
    not SIGMA_ROOT.is_dir(), reason=f"SigmaHQ rules not present at {SIGMA_ROOT}"
)


@pytest.fixture(scope="module")
def compat() -> ModuleType:
    return load_script(SCRIPT, "sigma_compat")


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
