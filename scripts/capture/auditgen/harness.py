#!/usr/bin/env python3
"""Run a scenario under a given audit rule set, on the real kernel, with a private auditd.

Built on the capture tool (`scripts/capture/capture.py`): its lock, its idle check, its private
auditd configuration and its scenario runner (login uid 4242, work folder /tmp/detect-capture).
Unlike a capture, the rules are text given by the caller (generated rules, or someone's rule
set) and loading them may be expected to fail on some lines. The kernel is restored whatever
happens: rules deleted, audit disabled, backlog limit, backlog wait time and failure mode put
back, the auditd it started stopped by its pid.

    sudo .venv/bin/python scripts/capture/auditgen/harness.py noise   # prints event counts

`scope_to_auid(rules, auid)` narrows a rule set to one login uid (each `always` exit rule gets
`-F auid=N`, each watch becomes its exit rule with it) so a test of someone's rule set does not
record the rest of the machine; the events of that login uid are the same either way.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
NEO23X0 = Path("/work/shared/auditd-rulesets/Neo23x0__auditd/audit.rules")
SETTLE_S = 1.0


def load_capture() -> ModuleType:
    """The capture tool as a module (the one instance the tests share, when they loaded it)."""
    loaded = sys.modules.get("detect_capture_tool")
    if loaded is not None:
        return loaded
    path = REPO / "scripts" / "capture" / "capture.py"
    spec = importlib.util.spec_from_file_location("detect_capture_tool", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


capture = load_capture()


class KernelBusy(Exception):
    """The kernel's audit is in use by someone else."""


@dataclass
class Run:
    load_code: int  # auditctl -R's exit code
    load_errors: str  # its stderr
    loaded: list[str]  # `auditctl -l`, one rule a line
    lines: list[str]  # the scenario's whole events, verbatim
    events: int

    def keys(self) -> Counter[str]:
        """Events per audit key (`(none)` for events no keyed rule selected)."""
        found: Counter[str] = Counter()
        for line in self.lines:
            if " type=SYSCALL " in f" {line}" or line.startswith("type=SYSCALL "):
                key = line.rsplit(" key=", 1)[-1].strip().strip('"')
                found[key if key != "(null)" else "(none)"] += 1
        return found


def run_with_rules(rules_text: str, script: Path, name: str = "scenario") -> Run:
    """Load `rules_text` with `auditctl -R`, run `script` (bash) under login uid 4242, and
    return the events of that login uid. Raises KernelBusy when audit is in use."""
    with capture.LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            status = capture.check_idle()
        except capture.CaptureError as error:
            raise KernelBusy(str(error)) from error
        return _run(rules_text, script, name, status)


def _run(rules_text: str, script: Path, name: str, status: dict[str, str]) -> Run:
    folder = Path(tempfile.mkdtemp(prefix="detect-auditgen-"))
    conf = folder / "auditd"
    conf.mkdir()
    daemon = None
    try:
        (folder / f"{name}.rules").write_text(rules_text)
        shutil.copy2(script, folder / f"{name}.sh")
        scenario = capture.Scenario(name, folder=folder)
        capture.write_config(scenario, conf)
        shutil.rmtree(capture.WORK_DIR, ignore_errors=True)
        capture.WORK_DIR.mkdir()
        daemon = capture.start_auditd(conf)
        loading = subprocess.run(
            ["auditctl", "-R", str(scenario.rules_path)], capture_output=True, text=True
        )
        loaded = capture.run("auditctl", "-l").splitlines()
        capture.run_scenario(scenario)
        time.sleep(SETTLE_S)
    finally:
        restore(daemon, status)
        shutil.rmtree(capture.WORK_DIR, ignore_errors=True)
    text = (conf / "audit.log").read_bytes().decode("utf-8", "surrogateescape")
    shutil.rmtree(folder, ignore_errors=True)
    kept, events = capture.filter_lines([line + "\n" for line in text.split("\n")[:-1]])
    return Run(loading.returncode, loading.stderr, loaded, kept, events)


def restore(daemon: subprocess.Popen[bytes] | None, status: dict[str, str]) -> None:
    """The capture tool's restore, plus what rule files also set: wait time, failure mode."""
    capture.restore_kernel(daemon, status.get("backlog_limit", "64"))
    wait = status.get("backlog_wait_time")
    if wait is not None:
        subprocess.run(["auditctl", "--backlog_wait_time", wait], capture_output=True)
    failure = status.get("failure")
    if failure is not None:
        subprocess.run(["auditctl", "-f", failure], capture_output=True)


def kernel_available() -> str | None:
    """None when this process can use kernel audit, else why not."""
    if os.geteuid() != 0:
        return "needs root (kernel audit)"
    if shutil.which("auditctl") is None or shutil.which("auditd") is None:
        return "auditctl/auditd not installed"
    if subprocess.run(["auditctl", "-s"], capture_output=True).returncode != 0:
        return "no audit support in this kernel"
    return None


def scope_to_auid(rules_text: str, auid: int) -> str:
    """The rule set with every `always` exit rule (and watch) limited to login uid `auid`."""
    sys.path.insert(0, str(REPO))
    from detect.auditgen.model import Field, SyscallRule, Watch
    from detect.auditgen.parse import parse_rules
    from detect.auditgen.write import write_item

    errors: list[object] = []
    out = []
    for item in parse_rules(rules_text, "-", errors).items:  # type: ignore[arg-type]
        if isinstance(item, Watch) and item.command == "-w":
            item = item.to_rule(os.path.isdir(item.path))
        if isinstance(item, SyscallRule) and (item.list_name, item.action) == ("exit", "always"):
            item = SyscallRule(
                item.list_name, item.action, (*item.parts, Field("auid", "=", str(auid)))
            )
        out.append(write_item(item))
    return "\n".join(out) + "\n"


def generated_rules(**options: object) -> str:
    sys.path.insert(0, str(REPO))
    from detect.auditgen import host
    from detect.auditgen.generate import Options, generate
    from detect.auditgen.write import write_items
    from detect.pipeline.factory import load_checked

    settings = Options(  # as `detect audit-rules generate` on this host
        is_dir=host.is_dir,
        knows=host.knows_syscall,
        programs=host.programs,
        **options,  # type: ignore[arg-type]
    )
    return write_items(generate(load_checked(()).rules, settings, str(REPO)).items)


def noise() -> dict[str, Run]:
    """The benign workload under the generated rules and under Neo23x0's, both scoped."""
    auid = str(capture.CAPTURE_AUID)
    ours = generated_rules(arch="x86_64", scope_auid=auid)
    theirs = scope_to_auid(NEO23X0.read_text(), capture.CAPTURE_AUID)
    script = HERE / "noise.sh"
    return {"generated": run_with_rules(ours, script), "neo23x0": run_with_rules(theirs, script)}


def main(argv: list[str]) -> int:
    if argv[1:] != ["noise"]:
        print(__doc__)
        return 2
    for name, run in noise().items():
        print(
            f"{name}: {run.events} events, {len(run.lines)} lines, rules loaded {len(run.loaded)}"
        )
        print(f"  auditctl -R: exit {run.load_code} {run.load_errors.strip()[:300]}")
        for key, count in run.keys().most_common(8):
            print(f"  {count:5d} {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
