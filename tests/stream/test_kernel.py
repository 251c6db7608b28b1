"""Must show 1: each live source end to end on this machine's kernel. A probe run from /tmp
(login uid PROBE_AUID) is what the shipped `exec_from_temp_dir` detection alerts on; each test
asserts one alert per probe, none twice, and reports the latency from the event's audit time to
the alert in the output file (p50, p99; also appended to $STREAM_LATENCY_LOG when set)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.stream.kernel import (
    AlertWatcher,
    KernelSession,
    alert_serials,
    kernel_session,
    make_probe,
    report_latency,
    run_probes,
    stop,
    stream_command,
    wait_ready,
)

pytestmark = pytest.mark.kernel
PROBES = 20
MAX_P99_S = 1.0


def probe_alerts(session: KernelSession, output: Path, count: int = PROBES) -> AlertWatcher:
    watcher = AlertWatcher(output)
    run_probes(session.work / "bin" / "probe", count)
    watcher.wait_for(count)
    return watcher


def check(name: str, watcher: AlertWatcher, count: int = PROBES) -> None:
    watcher.stop()
    alerts = [alert for _, alert in watcher.seen]
    serials = alert_serials(alerts)
    assert len(serials) == count and len(set(serials)) == count, serials
    assert {alert["rule"]["id"] for alert in alerts} == {"96695c67-2249-44d8-8c3b-8d22f015b4e7"}
    assert all(
        e["process"]["executable"].endswith("/bin/probe")
        for e in (a["detect"]["events"][0] for a in alerts)
    )
    _, p99 = report_latency(name, watcher.latencies())
    assert p99 < MAX_P99_S


NOBODY = 65534


def start_stream(session: KernelSession, *source: str) -> tuple[Path, object]:
    output, err = session.work / "alerts.jsonl", session.work / "stream.err"
    with err.open("wb") as stderr:
        child = session.spawn(stream_command(*source, output=output), stderr=stderr)
    wait_ready(err, child)
    return output, child


def test_netlink_without_auditd_as_nobody() -> None:
    """The group is joined as root; the collector then runs as `nobody`."""
    with kernel_session() as session:
        probe = make_probe(session.work)
        os.chown(session.work, NOBODY, -1)  # outputs are opened as nobody, after the drop
        output, child = start_stream(session, "--netlink", "--user", "nobody")
        session.load_rules(probe)
        watcher = probe_alerts(session, output)
        assert stop(child) == 0  # type: ignore[arg-type]
        check("netlink", watcher)


def test_follow_across_rotation() -> None:
    with kernel_session() as session:
        probe = make_probe(session.work)
        log = session.start_auditd()
        session.load_rules(probe)
        output, child = start_stream(session, "--follow", str(log))
        watcher = AlertWatcher(output)
        run_probes(probe, PROBES // 2)
        assert session.daemon is not None
        os.kill(session.daemon.pid, signal.SIGUSR1)  # auditd rotates: audit.log -> audit.log.1
        run_probes(probe, PROBES - PROBES // 2)
        watcher.wait_for(PROBES)
        assert Path(f"{log}.1").exists()
        assert stop(child) == 0  # type: ignore[arg-type]
        check("follow (rotated mid-stream)", watcher)


def test_stdin_as_auditd_plugin() -> None:
    with kernel_session() as session:
        probe = make_probe(session.work)
        output, err = session.work / "alerts.jsonl", session.work / "stream.err"
        plugin = session.work / "detect-plugin"
        command = " ".join(stream_command("--stdin", output=output))
        plugin.write_text(f"#!/bin/sh\nexec {command} 2>>{err}\n")
        plugin.chmod(0o755)
        conf = (
            REPO_PLUGIN_CONF.read_text()
            .replace("active = no", "active = yes")
            .replace("/usr/local/sbin/detect-audit-plugin", str(plugin))
        )
        session.start_auditd({"detect": conf})
        wait_ready(err)
        session.load_rules(probe)
        watcher = probe_alerts(session, output)
        check("stdin (auditd plugin)", watcher)


def test_unix_socket_of_auditd() -> None:
    with kernel_session() as session:
        probe = make_probe(session.work)
        socket_path = session.work / "audispd_events"
        session.start_auditd({"af_unix": AF_UNIX_CONF.format(path=socket_path)})
        output, child = start_stream(session, "--unix", str(socket_path))
        session.load_rules(probe)
        watcher = probe_alerts(session, output)
        assert stop(child) == 0  # type: ignore[arg-type]
        check("af_unix", watcher)


REPO_PLUGIN_CONF = (
    Path(__file__).resolve().parents[2] / "packaging" / "audit-plugins" / "detect.conf"
)
AF_UNIX_CONF = """\
active = yes
direction = out
path = builtin_af_unix
type = builtin
args = 0640 {path}
format = string
"""
