"""Real-kernel harness for the stream tests: the capture tool's helpers (private auditd with its
own config dir, the capture lock, kernel restore), a probe run from /tmp under a login uid of its
own, and a watcher that notes when each alert appears in the output file (for latency).

Every session restores the kernel (rules deleted, audit disabled, backlog limit put back) and
stops the processes it started, by their pid, whatever happens.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
DETECT = REPO / ".venv" / "bin" / "detect"
RULE = REPO / "detections" / "execution" / "exec_from_temp_dir.yml"
PROBE_AUID = 4343  # login uid of the probes; the capture tool uses 4242
READY_TIMEOUT_S = 10.0


capture = load_script(REPO / "scripts" / "capture" / "capture.py", "detect_capture_tool")


def skip_unless_kernel() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (kernel audit)")
    if shutil.which("auditctl") is None or shutil.which("auditd") is None:
        pytest.skip("auditctl/auditd not installed")
    if subprocess.run(["auditctl", "-s"], capture_output=True).returncode != 0:
        pytest.skip("no audit support in this kernel")


@dataclass
class KernelSession:
    work: Path
    status: dict[str, str]
    daemon: subprocess.Popen[bytes] | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_auditd(self, plugins: dict[str, str] | None = None, extra: str = "") -> Path:
        """A private auditd (config, log and plugins in `work/auditd`); its log path."""
        conf = self.work / "auditd"
        (conf / "plugins.d").mkdir(parents=True)
        text = capture.AUDITD_CONF.format(
            dir=conf, log_format="RAW", name_format="NONE", name_line=""
        )
        (conf / "auditd.conf").write_text(text + "num_logs = 5\n" + extra)
        (conf / "auditd.conf").chmod(0o640)
        for name, body in (plugins or {}).items():
            (conf / "plugins.d" / f"{name}.conf").write_text(body)
        self.daemon = capture.start_auditd(conf)
        return conf / "audit.log"

    def load_rules(self, probe: Path) -> None:
        capture.run("auditctl", "-b", str(capture.BACKLOG_LIMIT))
        capture.run(
            "auditctl", "-a", "always,exit", "-F", "arch=b64", "-S", "execve",
            "-F", f"auid={PROBE_AUID}", "-F", f"exe={probe}",
        )  # fmt: skip
        capture.run("auditctl", "-e", "1")

    def spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(argv, **kwargs)
        self.children.append(child)
        return child

    def restore(self) -> None:
        for child in self.children:
            stop(child)
        capture.restore_kernel(self.daemon, self.status.get("backlog_limit", "64"))


def stop(child: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if child.poll() is None:
        child.send_signal(sig)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode


@contextmanager
def kernel_session() -> Iterator[KernelSession]:
    """The capture lock, an idle kernel, a work folder; restored at the end."""
    skip_unless_kernel()
    with capture.LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            status = capture.check_idle()
        except capture.CaptureError as error:
            pytest.skip(f"kernel audit in use: {error}")
        work = Path(tempfile.mkdtemp(prefix="detect-stream-", dir="/tmp"))
        work.chmod(0o755)
        session = KernelSession(work, status)
        try:
            yield session
        finally:
            session.restore()
            shutil.rmtree(work, ignore_errors=True)


def make_probe(work: Path) -> Path:
    """A copy of `true` in a folder under /tmp: running it is 'executed from /tmp'."""
    folder = work / "bin"
    folder.mkdir()
    probe = folder / "probe"
    shutil.copy2("/usr/bin/true", probe)
    return probe


def _login_uid() -> None:
    Path("/proc/self/loginuid").write_text(str(PROBE_AUID))


def run_probes(probe: Path, count: int, gap_s: float = 0.05) -> None:
    for _ in range(count):
        subprocess.run([str(probe)], check=True, preexec_fn=_login_uid)
        time.sleep(gap_s)


def stream_command(*source: str, output: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """The stream on a live source; --no-triage: every probe's alert, none folded."""
    return [
        str(DETECT), "stream", *source, "--rules", str(RULE), "--no-default-rules",
        "--output", str(output), "--stats-interval", "0", "--no-triage", *extra,
    ]  # fmt: skip


def wait_ready(stderr_path: Path, child: subprocess.Popen[bytes] | None = None) -> None:
    """Until the stream says it is reading (after opening its source)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if stderr_path.exists() and "stream: reading" in stderr_path.read_text():
            return
        if child is not None and child.poll() is not None:
            break
        time.sleep(0.02)
    text = stderr_path.read_text() if stderr_path.exists() else ""
    raise AssertionError(f"stream did not start: {text}")


class AlertWatcher:
    """Polls the alert file every 2 ms; notes when each alert line first appears."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        offset, rest = 0, b""
        while not self._stop.is_set():
            if self.path.exists():
                with self.path.open("rb") as file:
                    file.seek(offset)
                    data = file.read()
                offset += len(data)
                now = time.time()
                *lines, rest = (rest + data).split(b"\n")
                self.seen.extend((now, json.loads(line)) for line in lines if line)
            time.sleep(0.002)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return [alert for _, alert in self.seen]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def latencies(self) -> list[float]:
        """Seconds from each alert's event (its audit timestamp) to the alert in the file."""
        return [seen - event_time(alert) for seen, alert in self.seen]


def event_time(alert: dict[str, Any]) -> float:
    return datetime.fromisoformat(alert["@timestamp"].replace("Z", "+00:00")).timestamp()


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 (nearest rank)."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered) + 0.5) - 1)]
    return statistics.median(ordered), p99


def report_latency(name: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = percentiles(values)
    line = f"{name}: {len(values)} alerts, latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    print(line)
    out = os.environ.get("STREAM_LATENCY_LOG")
    if out:
        with open(out, "a", encoding="utf-8") as file:
            file.write(line + "\n")
    return p50, p99


def alert_serials(alerts: list[dict[str, Any]]) -> list[int]:
    return sorted(alert["detect"]["events"][0]["serial"] for alert in alerts)
