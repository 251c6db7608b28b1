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

`--login-uid 1000` runs the workload as root in a login session of uid 1000 (an administrator
after `sudo -i`); without it the workload has no login uid, like a daemon's children: rules
scoped to logged-in users (Neo23x0's `rootcmd`: `-F auid>=1000 -F auid!=-1`) then stay quiet.

Each round runs every set once, one after the other (so a burst of load from elsewhere falls on
all sets of a round alike), and each set's figures are taken against no rules *in the same
round*. Reported per set: rules loaded; the slowdown, the median over rounds of the workload's
wall time over no rules' (and its lowest and highest round); the CPU ratio, the same for CPU
seconds: the workload's user + system time (the kernel filters and writes records in the
syscall exit path, on the workload's time) plus our auditd's and the kauditd thread's (less
sensitive to other load than wall time); audit records per second of workload (every record
auditd wrote, the whole machine's) and per round; the kernel's `lost` and peak `backlog`; how
many shipped detections can fire (`detect audit-rules check`'s simulator on their samples).
The workload (`kernel_cost_workload.sh`): file opens and writes, execs, loopback TCP connects, a
compile. Figures, not a test (DESIGN.md §9); other activity on the machine counts too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = Path(__file__).resolve().parent / "kernel_cost_workload.sh"
SIGMA_LINUX = REPO.parent / "shared" / "sigma" / "rules" / "linux"
SAMPLE_S = 0.05
KEY_RE = re.compile(rb"^type=SYSCALL .* key=(\S+)$", re.M)
TOP_KEYS = 4  # how often `auditctl -s` is read for the peak backlog


def load_harness() -> ModuleType:
    path = REPO / "scripts" / "capture" / "auditgen" / "harness.py"
    spec = importlib.util.spec_from_file_location("detect_auditgen_harness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Sample:
    """One run of the workload under one rule set."""

    seconds: float  # wall time
    cpu: float  # the workload's user + system CPU (the kernel's filtering and record
    # writing in the syscall exit path are the workload's system time)
    daemons: float  # CPU of our auditd and of the kernel's kauditd thread meanwhile
    records: int
    lost: int
    backlog_peak: int
    rules: int
    load_errors: int
    keys: Counter[str]  # events (SYSCALL records) per audit key


@dataclass
class Cost:
    name: str
    rules: int  # lines `auditctl -l` lists
    load_errors: int  # lines auditctl refused (Neo23x0's `-i` skips them)
    seconds: float  # median workload wall time
    slowdown: float  # median over rounds of (wall time / no rules' wall time in that round)
    slowdown_range: tuple[float, float]  # its lowest and highest round
    cpu_ratio: float  # the same for workload CPU + auditd + kauditd CPU
    cpu_range: tuple[float, float]
    records_per_s: float
    records: int  # per round, median
    lost: int
    backlog_peak: int
    can_fire: str  # "N of M" shipped detections, partly blind ones after a +
    top_keys: str = ""  # the keys that made the most events, per round


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
    from detect.auditgen import host

    result = check_audit_rules(rules, load_detections().rules, "x86_64", (), host.is_dir)
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


def measure(harness: ModuleType, text: str, login_uid: int | None = None) -> Sample:
    """Load `text` with a private auditd, run the workload once, restore the kernel."""
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
        threads = [daemon.pid, *kernel_threads()]
        before = sum(cpu_of(pid) for pid in threads)
        watch = BacklogWatch(harness)
        watch.start()
        seconds, cpu = run_workload(login_uid)
        watch.stop.set()
        watch.join()
        time.sleep(harness.SETTLE_S)
        daemons = sum(cpu_of(pid) for pid in threads) - before
        lost = int(capture.audit_status().get("lost", "0")) - lost_before
    finally:
        harness.restore(daemon, status)
    log = conf / "audit.log"
    logged = log.read_bytes() if log.exists() else b""
    shutil.rmtree(folder, ignore_errors=True)
    errors = loading.stderr.count("Error")
    keys = Counter(
        m.group(1).decode(errors="replace") for m in KEY_RE.finditer(logged)
    )  # one SYSCALL record per event
    return Sample(
        seconds, cpu, daemons, logged.count(b"\n"), lost, watch.peak, len(loaded), errors, keys
    )


def set_login_uid(uid: int) -> None:
    """In the workload's process, before exec: its login uid (and so a new session)."""
    Path("/proc/self/loginuid").write_text(str(uid))


def kernel_threads() -> list[int]:
    """The kernel's kauditd thread (it sends the records to auditd)."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "kauditd":
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarise(name: str, fires: str, samples: list[Sample], base: list[Sample]) -> Cost:
    """Ratios against no rules in the same round, then their median and range."""
    walls = [s.seconds / b.seconds for s, b in zip(samples, base, strict=True)]
    cpus = [total(s) / total(b) for s, b in zip(samples, base, strict=True)]
    seconds = sum(s.seconds for s in samples)
    keys = sum((s.keys for s in samples), Counter[str]())
    top = ", ".join(f"{k} {n // len(samples):,}" for k, n in keys.most_common(TOP_KEYS))
    return Cost(
        name,
        max(s.rules for s in samples),
        max(s.load_errors for s in samples),
        statistics.median(s.seconds for s in samples),
        statistics.median(walls),
        (min(walls), max(walls)),
        statistics.median(cpus),
        (min(cpus), max(cpus)),
        sum(s.records for s in samples) / seconds,
        int(statistics.median(s.records for s in samples)),
        sum(s.lost for s in samples),
        max(s.backlog_peak for s in samples),
        fires,
        top,
    )


def total(sample: Sample) -> float:
    return sample.cpu + sample.daemons


def run_workload(login_uid: int | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the workload's processes); with `login_uid`, the workload
    runs in a login session of that uid (as root: an administrator's session)."""
    work = Path(tempfile.mkdtemp(prefix="detect-kernel-cost-work-"))
    try:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            ["bash", str(WORKLOAD), str(work)],
            check=True,
            capture_output=True,
            preexec_fn=None if login_uid is None else lambda: set_login_uid(login_uid),
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
        return wall, cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(costs: list[Cost]) -> str:
    head = (
        "| rule set | rules | slowdown (range) | CPU ratio (range) | workload s | records/s "
        "| records | lost | backlog peak | detections that can fire |"
    )
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in costs:
        lines.append(
            f"| {c.name} | {c.rules} | {c.slowdown:.2f}x ({c.slowdown_range[0]:.2f}-"
            f"{c.slowdown_range[1]:.2f}) | {c.cpu_ratio:.2f}x ({c.cpu_range[0]:.2f}-"
            f"{c.cpu_range[1]:.2f}) | {c.seconds:.2f} | {c.records_per_s:,.0f} | {c.records:,} "
            f"| {c.lost} | {c.backlog_peak} | {c.can_fire} |"
        )
    lines += ["", "| rule set | events per round by key (most first) |", "| --- | --- |"]
    lines += [f"| {c.name} | {c.top_keys or '-'} |" for c in costs]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--login-uid",
        type=int,
        default=None,
        help="Run the workload in a login session of this uid (default: none, like a daemon)",
    )
    args = parser.parse_args(argv)
    harness = load_harness()
    reason = harness.kernel_available()
    if reason is not None:
        print(f"kernel_cost: {reason}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from detect.core import native

    native.use_current_code()  # DETECT_PURE=1, or a stale build: the .py sources
    sets = rule_sets(harness)
    # which detections can fire, before the kernel runs: a failure here costs no measurement
    fires = {name: can_fire(text) if text else "-" for name, text in sets.items()}
    samples: dict[str, list[Sample]] = {name: [] for name in sets}
    for round_number in range(args.rounds):  # every set once per round: load moves all alike
        for name, text in sets.items():
            samples[name].append(measure(harness, text, args.login_uid))
        print(f"round {round_number + 1} of {args.rounds} done", file=sys.stderr)
    base = samples["none"]
    costs = [summarise(name, fires[name], samples[name], base) for name in sets]
    print(table(costs))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(c) for c in costs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
