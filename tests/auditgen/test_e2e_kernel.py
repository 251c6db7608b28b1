"""The generated rules on the real kernel (root only; skipped with the reason otherwise).

1. They load with `auditctl -R` without an error, and the kernel is restored afterwards.
2. End to end: loaded into the kernel with a private auditd, a scenario runs (a program from
   /tmp, useradd and userdel writing /etc/passwd, the clock set to the time it has, a module
   load attempt), the engine runs on the records, and the alerts carry their ATT&CK ids.

The generated rules are scoped to the scenario's login uid (`--scope-auid 4242`, an option of
the generator) so the test does not record the rest of the machine, and fitted to this host
(`--for-host`: its directories, the syscall names its auditctl knows). Both come from the
generator; nothing is edited by hand.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.auditgen import host
from detect.auditgen.generate import Options, generate
from detect.auditgen.write import write_items
from detect.core.resources import ROOT
from detect.matching.engine import Engine
from detect.sigma.load import load_detections
from tests.scripts import load_script

pytestmark = pytest.mark.kernel
SCRIPTS = ROOT / "scripts" / "capture" / "auditgen"


harness = load_script(SCRIPTS / "harness.py", "detect_auditgen_harness")


@pytest.fixture(autouse=True)
def kernel() -> None:
    reason = harness.kernel_available()
    if reason is not None:
        pytest.skip(reason)


def rules_text(portable: bool = False, **options: object) -> str:
    """The default output of `generate` (fitted to this host), or its `--portable` output."""
    probes: dict[str, object] = {} if portable else {"is_dir": host.is_dir}
    if not portable:
        probes["knows"] = host.knows_syscall
        probes["programs"] = host.programs  # the CLI's default on this machine's own arch
    settings = Options(arch="x86_64", **probes, **options)  # type: ignore[arg-type]
    return write_items(generate(load_detections().rules, settings, str(ROOT)).items)


def run(script: Path, text: str) -> Any:
    try:
        return harness.run_with_rules(text, script, "generated")
    except harness.KernelBusy as busy:
        pytest.skip(f"kernel audit in use: {busy}")


def events_of(lines: list[str]) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.feed((line, "capture", number) for number, line in enumerate(lines, 1))
    machine.flush()
    return events


def noop(tmp_path: Path) -> Path:
    script = tmp_path / "noop.sh"
    script.write_text("#!/bin/bash\n# loads the rules and does nothing\ntrue\n")
    return script


def test_generated_rules_load_without_error(tmp_path: Path) -> None:
    text = rules_text()
    result = run(noop(tmp_path), text)
    assert (result.load_code, result.load_errors) == (0, "")
    written = [line for line in text.splitlines() if line.startswith(("-a ", "-w "))]
    assert len(result.loaded) == len(written) and 0 < len(written) < 258 / 2
    assert any(line.startswith("-w ") for line in result.loaded)
    assert not any(" -S all " in line and "-F path=" not in line for line in result.loaded)
    after = subprocess.run(["auditctl", "-l"], capture_output=True, text=True).stdout
    status = subprocess.run(["auditctl", "-s"], capture_output=True, text=True).stdout
    assert after.strip() == "No rules" and "enabled 0" in status


def test_portable_rules_load_all_but_what_this_host_lacks(tmp_path: Path) -> None:
    text = rules_text(portable=True)
    result = run(noop(tmp_path), text)
    lines = text.splitlines()
    sure = [line for line in lines[: lines.index("-i")] if line.startswith(("-a ", "-w "))]
    assert result.load_code == 0  # -i: the lines this host refuses are skipped
    assert len(result.loaded) >= len(sure)


def test_end_to_end_alerts_with_attack_ids() -> None:
    result = run(SCRIPTS / "e2e.sh", rules_text(scope_auid="4242"))
    assert result.load_code == 0, result.load_errors
    events = events_of(result.lines)
    engine = Engine(load_detections().rules)
    fired: dict[str, set[str]] = {}
    for event in events:
        for match in engine.evaluate(event):
            name = Path(match.rule.source.source).stem
            fired.setdefault(name, set()).update(t for t in match.rule.tags if ".t" in t)
    assert fired.get("exec_from_temp_dir", set()) >= {"attack.t1204.002", "attack.t1059.004"}
    assert "attack.t1136.001" in fired.get("local_account_created", set())
    assert "attack.t1531" in fired.get("local_account_deleted", set())
    assert "attack.t1070.006" in fired.get("system_time_changed", set())
    assert "attack.t1547.006" in fired.get("kernel_module_syscall", set())
    assert "attack.t1547.006" in fired.get("kernel_module_tool_executed", set())
    # the writes of /etc/passwd were recorded; the account tools are not direct writes
    passwd = [e for e in events if _account_tool_writes_passwd(e)]
    assert passwd, "no event of useradd/userdel on /etc/passwd"
    assert "account_database_direct_write" not in fired
    modules = {e.first("SYSCALL").fields.get("exit") for e in events if _is_module_load(e)}  # type: ignore[union-attr]
    assert modules == {"-38"}  # ENOSYS: no module support, audited all the same


def _account_tool_writes_passwd(event: AuditEvent) -> bool:
    syscall = event.first("SYSCALL")
    exe = syscall.fields.get("exe", "") if syscall is not None else ""
    named = any(r.fields.get("name") == "/etc/passwd" for r in event.all("PATH"))
    return named and exe.endswith(("/useradd", "/userdel"))


def _is_module_load(event: AuditEvent) -> bool:
    from detect.auditd import interpret

    return interpret.event_syscall(event) in ("init_module", "finit_module")
