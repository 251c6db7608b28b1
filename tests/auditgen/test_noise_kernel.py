"""Noise on the real kernel (root only): the same benign workload (scripts/capture/auditgen/
noise.sh: apt-get --simulate, gcc, reading /usr, git, compileall, editing files) under the
generated rules and under Neo23x0's rule set; the generated rules record fewer events. That
every shipped detection still fires under them is test_check.py's soundness test.

Both rule sets are narrowed to the workload's login uid (the generator's `--scope-auid`, and
`harness.scope_to_auid` for Neo23x0's: `-F auid=4242` on each `always` exit rule and watch), so
the rest of the machine is not recorded; the events of that login uid are the same either way.
"""

from __future__ import annotations

import pytest

from detect.core.resources import ROOT
from tests.scripts import load_script

pytestmark = pytest.mark.kernel
SCRIPTS = ROOT / "scripts" / "capture" / "auditgen"


harness = load_script(SCRIPTS / "harness.py", "detect_auditgen_harness")


def test_generated_rules_record_fewer_events_than_neo23x0() -> None:
    reason = harness.kernel_available()
    if reason is not None:
        pytest.skip(reason)
    if not harness.NEO23X0.exists():
        pytest.skip("Neo23x0's rule set is not in ../shared")
    try:
        runs = harness.noise()
    except harness.KernelBusy as busy:
        pytest.skip(f"kernel audit in use: {busy}")
    ours, theirs = runs["generated"], runs["neo23x0"]
    print(f"noise: generated {ours.events} events ({len(ours.lines)} lines), "
          f"Neo23x0 {theirs.events} events ({len(theirs.lines)} lines)")  # fmt: skip
    assert ours.load_code == 0 and ours.load_errors == ""
    assert len(theirs.loaded) > 300  # Neo23x0's set was loaded (its `-i` skips lines it lacks)
    assert ours.keys()  # the workload was recorded at all
    assert 0 < ours.events < theirs.events
