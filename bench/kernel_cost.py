"""Kernel cost of audit rule sets: a fixed syscall-heavy workload under each set (root only).

    flock /tmp/detect-kernel.lock sudo DETECT_PURE=1 .venv/bin/python -m bench.kernel_cost \
        [--rounds 5] [--json bench/out/kernel_cost.json]

Rule sets: none, Neo23x0's (`../shared/auditd-rulesets/Neo23x0__auditd/audit.rules`), `detect
audit-rules generate` (the default: fitted to this host), the same with
`--unbounded-paths /home,/root`, and the generated set with SigmaHQ's Linux rules added
(`../shared/sigma/rules/linux`). Each runs with a private auditd (the capture tool's harness,
`scripts/capture/auditgen/harness.py`) writing to a temporary log; the kernel's state (rules,
enabled flag, backlog limit and wait time, failure mode) is put back after each set, whatever
happens.

Reported per set: rules loaded, the workload's median wall time over `--rounds` and its slowdown
against no rules, audit records per second of workload (every record auditd wrote, the whole
machine's), the kernel's `lost` and peak `backlog` during the runs, and how many shipped
detections can fire (`detect audit-rules check`'s simulator on their sample events).
The workload (`kernel_cost_workload.sh`): file opens and writes, execs, loopback TCP connects, a
compile. Figures, not a test (DESIGN.md §9); other activity on the machine counts too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = Path(__file__).resolve().parent / "kernel_cost_workload.sh"
SIGMA_LINUX = REPO.parent / "shared" / "sigma" / "rules" / "linux"
SAMPLE_S = 0.05  # how often `auditctl -s` is read for the peak backlog


def load_harness() -> ModuleType:
    path = REPO / "scripts" / "capture" / "auditgen" / "harness.py"
    spec = importlib.util.spec_from_file_location("detect_auditgen_harness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Cost:
    name: str
    rules: int  # lines `auditctl -l` lists
    load_errors: int  # lines auditctl refused (Neo23x0's `-i` skips them)
    seconds: float  # median workload wall time
    slowdown: float  # against no rules
    records_per_s: float
    records: int
    lost: int
    backlog_peak: int
    can_fire: str  # "N of M" shipped detections, partly blind ones after a +


def generated(extra: tuple[str, ...] = ()) -> str:
    """`detect audit-rules generate` output (the default: fitted to this host)."""
    program = Path(sys.executable).parent / "detect"  # the venv's entry point
    command = [str(program), "audit-rules", "generate", *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    return done.stdout


def rule_sets(harness: ModuleType) -> dict[str, str]:
    sets = {"none": "", "neo23x0": harness.NEO23X0.read_text()}
    sets["generated"] = generated()
    sets["generated, --unbounded-paths /home,/root"] = generated(
        ("--unbounded-paths", "/home,/root")
    )
    if SIGMA_LINUX.is_dir():
        sets["generated + SigmaHQ linux"] = generated(("--rules", str(SIGMA_LINUX)))
    return sets


def can_fire(text: str) -> str:
    from detect.auditgen.check import check_audit_rules
    from detect.auditgen.parse import parse_rules
    from detect.sigma.load import load_detections

    errors: list[object] = []
    rules = parse_rules(text, "-", errors)  # type: ignore[arg-type]
    result = check_audit_rules(rules, load_detections().rules, "x86_64")
    total = len(result.findings)
    return f"{total - len(result.blind)} of {total} (+{len(result.partly)} partly)"


class BacklogWatch(threading.Thread):
    """The kernel's backlog, sampled while the workload runs: its peak."""

    def __init__(self, harness: ModuleType) -> None:
        super().__init__(daemon=True)
        self.capture = harness.capture
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, int(self.capture.audit_status().get("backlog", "0")))
            time.sleep(SAMPLE_S)


def measure(harness: ModuleType, name: str, text: str, rounds: int) -> Cost:
    capture = harness.capture
    status = capture.check_idle()
    folder = Path(tempfile.mkdtemp(prefix="detect-kernel-cost-"))
    conf = folder / "auditd"
    conf.mkdir()
    daemon = None
    try:
        rules = folder / "set.rules"
        rules.write_text(text)
        capture.write_config(capture.Scenario("cost", folder=folder), conf)
        daemon = capture.start_auditd(conf)
        loading = subprocess.run(["auditctl", "-R", str(rules)], capture_output=True, text=True)
        listed = capture.run("auditctl", "-l").splitlines()
        loaded = [line for line in listed if line.startswith("-")]
        subprocess.run(["auditctl", "-e", "1"], capture_output=True, check=True)
        lost_before = int(capture.audit_status().get("lost", "0"))
        watch = BacklogWatch(harness)
        watch.start()
        times = [run_workload() for _ in range(rounds)]
        watch.stop.set()
        watch.join()
        time.sleep(harness.SETTLE_S)
        lost = int(capture.audit_status().get("lost", "0")) - lost_before
    finally:
        harness.restore(daemon, status)
    log = conf / "audit.log"
    records = log.read_bytes().count(b"\n") if log.exists() else 0
    shutil.rmtree(folder, ignore_errors=True)
    errors = loading.stderr.count("Error")
    median = statistics.median(times)
    return Cost(name, len(loaded), errors, median, 0.0, records / sum(times), records, lost,
                watch.peak, can_fire(text) if text else "-")  # fmt: skip


def run_workload() -> float:
    work = Path(tempfile.mkdtemp(prefix="detect-kernel-cost-work-"))
    try:
        start = time.perf_counter()
        subprocess.run(["bash", str(WORKLOAD), str(work)], check=True, capture_output=True)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(costs: list[Cost]) -> str:
    head = "| rule set | rules | slowdown | workload s | records/s | lost | backlog peak | detections that can fire |"  # noqa: E501
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in costs:
        lines.append(
            f"| {c.name} | {c.rules} | {c.slowdown:.2f}x | {c.seconds:.2f} | "
            f"{c.records_per_s:,.0f} | {c.lost} | {c.backlog_peak} | {c.can_fire} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    harness = load_harness()
    reason = harness.kernel_available()
    if reason is not None:
        print(f"kernel_cost: {reason}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    costs = [measure(harness, n, t, args.rounds) for n, t in rule_sets(harness).items()]
    base = costs[0].seconds
    for cost in costs:
        cost.slowdown = cost.seconds / base
    print(table(costs))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(c) for c in costs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
