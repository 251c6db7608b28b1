#!/usr/bin/env python3
"""Capture real audit logs from this machine's kernel, one scenario at a time (run as root).

For each scenario `scenarios/<name>.rules` (auditctl rule lines) and `scenarios/<name>.sh` (the
commands), this starts a private auditd (its own config dir, log file and empty plugin dir; never
/etc/audit nor /var/log/audit), loads the rules, runs the script with a login uid of its own
(CAPTURE_AUID) so rules and the filter can tell the scenario from the harness, stops everything
and writes `tests/auditd/captures/<name>.log` plus `<name>.md` (provenance).

The kernel's audit state is restored whatever happens: rules deleted, audit disabled, the backlog
limit put back, and the auditd this script started stopped by its pid. `-e 2` and `-f 2` are never
used. The capture keeps whole events verbatim; it only leaves out events of the harness itself.

    sudo .venv/bin/python scripts/capture/capture.py execve_args file_ops
    sudo .venv/bin/python scripts/capture/capture.py --all
    sudo .venv/bin/python scripts/capture/capture.py --scenario-dir DIR --out-dir DIR name

Other folders of scenarios (`--scenario-dir`, e.g. the captures behind detection samples) hold
the same `<name>.rules` / `<name>.sh` / optional `<name>.notes.md` files; their scenarios use the
RAW format. Captures take a lock (LOCK_PATH), so several can be started at once and run one after
the other: the kernel has one audit configuration.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS_DIR = HERE / "scenarios"
REPO = HERE.parent.parent
CAPTURES_DIR = REPO / "tests" / "auditd" / "captures"
WORK_DIR = Path("/tmp/detect-capture")  # fixed: rule files name it in -F dir=
CAPTURE_AUID = 4242  # login uid of the scenario's processes; no such user here
BACKLOG_LIMIT = 8192
SCENARIO_TIMEOUT = 300
LOCK_PATH = Path("/run/lock/detect-capture.lock")
# Events of the harness itself: auditd start/stop, rule changes, the scenario's loginuid write.
HARNESS_TYPES = frozenset(("DAEMON_START", "DAEMON_END", "CONFIG_CHANGE", "LOGIN"))
# With --keep-audit-changes: records of these types are the scenario's own when they carry its
# login uid (auditctl run by the scenario, auditd stopped by it), and their events are kept.
AUDIT_CHANGE_PREFIXES = ("CONFIG_CHANGE", "DAEMON_")
HEADER_RE = re.compile(r"^(?:node=(\S+) )?type=(\S+) msg=audit\((\d+\.\d+):(\d+)\):")
AUID_RE = re.compile(rf"(?<![\w-])auid={CAPTURE_AUID}(?!\d)")
UNSET_AUID_RE = re.compile(r"(?<![\w-])auid=(?:4294967295|unset)(?![\w])")
AUDIT_CHANGES_NOTE = """\
Audit changes: captured with `--keep-audit-changes`, so CONFIG_CHANGE and DAEMON_* events
that carry `auid={auid}` (the scenario's auditctl runs, auditd stopped by the scenario) are kept.

"""
SERVICES_NOTE = """\
Services: captured with `--with-services`, so events of processes without a login uid (what
the scenario starts as services, and what the harness and the host's own daemons ran while the
rules were loaded) are kept too.

"""

FILTER_NOTE = """\
Filter: whole events only, lines verbatim and in file order. Kept: events with a record
carrying `auid={auid}` (the scenario runs with that login uid). Left out: events with a
{types} record (auditd start and stop, rule loading, the
scenario's loginuid write). Serial gaps in the file come from this filter, not from loss.
auditd writes no EOE records to its log file.

"""

AUDITD_CONF = """\
log_file = {dir}/audit.log
log_format = {log_format}
log_group = root
name_format = {name_format}
{name_line}plugin_dir = {dir}/plugins.d
max_log_file = 64
max_log_file_action = IGNORE
space_left = 75
space_left_action = IGNORE
admin_space_left = 50
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
flush = INCREMENTAL_ASYNC
freq = 50
"""


@dataclass(frozen=True)
class Scenario:
    """How auditd formats the log for one scenario; rules and commands are files beside it."""

    name: str
    log_format: str = "RAW"
    name_format: str = "NONE"
    node_name: str | None = None
    folder: Path = SCENARIOS_DIR

    @property
    def rules_path(self) -> Path:
        return self.folder / f"{self.name}.rules"

    @property
    def script_path(self) -> Path:
        return self.folder / f"{self.name}.sh"

    @property
    def notes_path(self) -> Path:
        """Optional: what was seen in the capture, kept with the scenario and copied to the note."""
        return self.folder / f"{self.name}.notes.md"


class CaptureError(Exception):
    """The kernel or auditd is not in a state where a capture can run."""


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def audit_status() -> dict[str, str]:
    pairs = (line.split(" ", 1) for line in run("auditctl", "-s").splitlines() if " " in line)
    return {key: value.strip() for key, value in pairs}


def check_idle() -> dict[str, str]:
    """Refuse to run when someone else is using the kernel's audit (a daemon, rules, enabled)."""
    if os.geteuid() != 0:
        raise CaptureError("must run as root")
    status = audit_status()
    rules = run("auditctl", "-l").strip()
    if status.get("pid", "0") != "0" or status.get("enabled") != "0" or rules != "No rules":
        raise CaptureError(f"kernel audit is in use: {status} / {rules!r}")
    return status


def write_config(scenario: Scenario, conf_dir: Path) -> None:
    (conf_dir / "plugins.d").mkdir()
    name_line = f"name = {scenario.node_name}\n" if scenario.node_name else ""
    conf = conf_dir / "auditd.conf"
    conf.write_text(
        AUDITD_CONF.format(
            dir=conf_dir,
            log_format=scenario.log_format,
            name_format=scenario.name_format,
            name_line=name_line,
        )
    )
    conf.chmod(0o640)


def start_auditd(conf_dir: Path) -> subprocess.Popen[bytes]:
    out = (conf_dir / "auditd.out").open("wb")
    daemon = subprocess.Popen(["auditd", "-n", "-c", str(conf_dir)], stdout=out, stderr=out)
    for _ in range(50):
        time.sleep(0.1)
        if daemon.poll() is not None:
            raise CaptureError(f"auditd exited: {(conf_dir / 'auditd.out').read_text()}")
        if audit_status().get("pid") == str(daemon.pid):
            return daemon
    raise CaptureError("auditd did not register with the kernel")


def restore_kernel(daemon: subprocess.Popen[bytes] | None, backlog_limit: str) -> None:
    """Delete rules, disable audit, put the backlog limit back, stop our auditd (by its pid)."""
    subprocess.run(["auditctl", "-D"], check=False, capture_output=True)
    subprocess.run(["auditctl", "-e", "0"], check=False, capture_output=True)
    subprocess.run(["auditctl", "-b", backlog_limit], check=False, capture_output=True)
    if daemon is not None and daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def set_login_uid() -> None:
    """In the scenario's process, before exec: its own login uid (and so a new session id)."""
    Path("/proc/self/loginuid").write_text(str(CAPTURE_AUID))


def run_scenario(scenario: Scenario) -> None:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
        "CAPTURE_WORK": str(WORK_DIR),
        "CAPTURE_PY": "/usr/bin/python3",
    }
    subprocess.run(
        ["/bin/bash", str(scenario.script_path)],
        check=True,
        cwd=WORK_DIR,
        env=env,
        preexec_fn=set_login_uid,
        timeout=SCENARIO_TIMEOUT,
    )


@dataclass
class CaptureRun:
    lines: list[str]  # the private audit.log, unfiltered
    loaded: str  # `auditctl -l` once the rules were loaded
    lost: tuple[str, str]  # the kernel's lost-record counter before and after


def capture(scenario: Scenario) -> CaptureRun:
    """Run one scenario against a private auditd; return its log, rules and lost counters."""
    status = check_idle()
    conf_dir = Path(tempfile.mkdtemp(prefix="detect-auditd-"))
    daemon = None
    try:
        write_config(scenario, conf_dir)
        shutil.rmtree(WORK_DIR, ignore_errors=True)
        WORK_DIR.mkdir()
        daemon = start_auditd(conf_dir)
        run("auditctl", "-b", str(BACKLOG_LIMIT))
        run("auditctl", "-R", str(scenario.rules_path))
        loaded = run("auditctl", "-l")
        run_scenario(scenario)
        time.sleep(1)
    finally:
        restore_kernel(daemon, status.get("backlog_limit", "64"))
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    log = conf_dir / "audit.log"
    # Not str.splitlines(): it also splits at 0x1D, the ENRICHED separator.
    text = log.read_bytes().decode("utf-8", "surrogateescape")
    lines = [line + "\n" for line in text.split("\n")[:-1]]
    shutil.rmtree(conf_dir)
    return CaptureRun(lines, loaded, (status.get("lost", "?"), audit_status().get("lost", "?")))


def group_events(lines: list[str]) -> dict[tuple[str | None, str, str], list[int]]:
    """Line indexes per event key (node, timestamp, serial), in file order."""
    events: dict[tuple[str | None, str, str], list[int]] = {}
    for index, line in enumerate(lines):
        match = HEADER_RE.match(line)
        if match is None:
            raise CaptureError(f"unexpected line in audit.log: {line[:100]!r}")
        node, _, stamp, serial = match.groups()
        events.setdefault((node, stamp, serial), []).append(index)
    return events


def is_scenario_event(
    lines: list[str], indexes: list[int], services: bool = False, audit_changes: bool = False
) -> bool:
    types = {HEADER_RE.match(lines[i]).group(2) for i in indexes}  # type: ignore[union-attr]
    ours = any(AUID_RE.search(lines[i]) for i in indexes)
    if types & HARNESS_TYPES:
        changes = all(kind.startswith(AUDIT_CHANGE_PREFIXES) for kind in types & HARNESS_TYPES)
        return audit_changes and changes and ours
    if ours:
        return True
    return services and any(UNSET_AUID_RE.search(lines[i]) for i in indexes)


def filter_lines(
    lines: list[str], services: bool = False, audit_changes: bool = False
) -> tuple[list[str], int]:
    """Whole events of the scenario (with `services`, also those of processes without a login
    uid; with `audit_changes`, also its CONFIG_CHANGE and DAEMON_* events), lines verbatim and
    in file order; and how many events."""
    events = group_events(lines)
    keep = [
        idx for idx in events.values() if is_scenario_event(lines, idx, services, audit_changes)
    ]
    chosen = sorted(i for idx in keep for i in idx)
    return [lines[i] for i in chosen], len(keep)


def count_split_events(lines: list[str]) -> int:
    """Events whose records are not contiguous in the file (another event's record in between)."""
    spans = group_events(lines).values()
    return sum(1 for idx in spans if idx[-1] - idx[0] + 1 != len(idx))


def fence(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def script_notes(script: str) -> Iterator[str]:
    """The script's leading comment block (after the shebang) is its description."""
    for line in script.splitlines()[1:]:
        if not line.startswith("#"):
            return
        yield line[2:] if line.startswith("# ") else line[1:]


def write_note(
    scenario: Scenario,
    kept: list[str],
    events: int,
    result: CaptureRun,
    out_dir: Path,
    services: bool = False,
    audit_changes: bool = False,
) -> None:
    script = scenario.script_path.read_text()
    kernel = run("uname", "-r").strip()
    version = run("auditctl", "-v").strip()
    package = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "auditd"], capture_output=True, text=True
    ).stdout.strip()
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    split = count_split_events(kept)
    before, after = result.lost
    node = f", name = {scenario.node_name}" if scenario.node_name else ""
    note = [
        f"# Capture `{scenario.name}`\n\n",
        "\n".join(script_notes(script)).strip() + "\n\n",
        f"- date (machine clock, UTC): {date}\n",
        f"- kernel: {kernel} (`uname -r`)\n",
        f"- auditd: `auditctl -v`: {version}; package auditd {package or '?'}\n",
        f"- log_format = {scenario.log_format}, name_format = {scenario.name_format}{node}\n",
        f"- lines: {len(kept)} (of {len(result.lines)} in the private audit.log)\n",
        f"- events: {events}; whose records are not contiguous in the file: {split}\n",
        f"- kernel lost-record counter (`auditctl -s`): {before} before, {after} after\n",
        f"- made by: `scripts/capture/capture.py"
        f" {made_by(scenario, out_dir, services, audit_changes)}` (as root)\n\n",
        FILTER_NOTE.format(auid=CAPTURE_AUID, types="/".join(sorted(HARNESS_TYPES))),
        SERVICES_NOTE if services else "",
        AUDIT_CHANGES_NOTE.format(auid=CAPTURE_AUID) if audit_changes else "",
        "## Rules loaded (`auditctl -l`)\n\n",
        fence(result.loaded),
        f"\n## Rule file (`{repo_path(scenario.rules_path)}`)\n\n",
        fence(scenario.rules_path.read_text()),
        f"\n## Commands (`{repo_path(scenario.script_path)}`)\n\n",
        fence(script, "bash"),
    ]
    if scenario.notes_path.exists():
        note += ["\n## Observations\n\n", scenario.notes_path.read_text()]
    (out_dir / f"{scenario.name}.md").write_text("".join(note))


def repo_path(path: Path) -> Path:
    path = path.resolve()
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def made_by(
    scenario: Scenario, out_dir: Path, services: bool = False, audit_changes: bool = False
) -> str:
    flag = ("--with-services " if services else "") + (
        "--keep-audit-changes " if audit_changes else ""
    )
    if scenario.folder == SCENARIOS_DIR and out_dir == CAPTURES_DIR:
        return flag + scenario.name
    folders = f"--scenario-dir {repo_path(scenario.folder)} --out-dir {repo_path(out_dir)}"
    return f"{flag}{folders} {scenario.name}"


def capture_scenario(
    scenario: Scenario,
    keep_raw: Path | None,
    out_dir: Path,
    services: bool = False,
    audit_changes: bool = False,
) -> None:
    with LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        result = capture(scenario)
    lines = result.lines
    if keep_raw is not None:
        raw = keep_raw / f"{scenario.name}.raw.log"
        raw.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    kept, events = filter_lines(lines, services, audit_changes)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{scenario.name}.log"
    out.write_bytes("".join(kept).encode("utf-8", "surrogateescape"))
    write_note(scenario, kept, events, result, out_dir, services, audit_changes)
    print(f"{scenario.name}: {len(kept)} lines, {events} events -> {out}")


def on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="scenarios to capture")
    parser.add_argument("--all", action="store_true", help="capture every scenario")
    parser.add_argument("--keep-raw", type=Path, help="also save each unfiltered log in this dir")
    parser.add_argument("--scenario-dir", type=Path, help="scenarios from this folder (RAW format)")
    parser.add_argument("--out-dir", type=Path, default=CAPTURES_DIR, help="where captures go")
    parser.add_argument(
        "--with-services",
        action="store_true",
        help="also keep events of processes without a login uid (services, daemons)",
    )
    parser.add_argument(
        "--keep-audit-changes",
        action="store_true",
        help="also keep the scenario's own CONFIG_CHANGE and DAEMON_* events (auditctl, auditd "
        "stopped); the harness's are left out as always",
    )
    args = parser.parse_args(argv)
    known = SCENARIOS if args.scenario_dir is None else folder_scenarios(args.scenario_dir)
    names = list(known) if args.all else args.names
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        parser.error(f"unknown or no scenario: {unknown}; known: {', '.join(known)}")
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        for name in names:
            capture_scenario(
                known[name],
                args.keep_raw,
                args.out_dir.resolve(),
                args.with_services,
                args.keep_audit_changes,
            )
    except (CaptureError, subprocess.CalledProcessError) as exc:
        print(f"capture failed: {exc}", file=sys.stderr)
        return 1
    return 0


def folder_scenarios(folder: Path) -> dict[str, Scenario]:
    """Every `<name>.sh` with a `<name>.rules` beside it in `folder`."""
    folder = folder.resolve()
    names = sorted(p.stem for p in folder.glob("*.sh") if p.with_suffix(".rules").exists())
    return {name: Scenario(name, folder=folder) for name in names}


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("execve_args"),
        Scenario("file_ops"),
        Scenario("connect"),
        Scenario("useradd"),
        Scenario("module_load"),
        Scenario("clock_change"),
        Scenario("enriched", log_format="ENRICHED"),
        Scenario("node_prefix", name_format="USER", node_name="testhost"),
        Scenario("user_msg"),
        Scenario("interleaved"),
    )
}

if __name__ == "__main__":
    sys.exit(main())
