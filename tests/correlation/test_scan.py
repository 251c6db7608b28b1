"""Correlations in a scan, on real captures: the alert's content, and the same alerts from a
batch scan over files and from a live stream pushed line by line (two hosts interleaved, the
input split across two files)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest
from pathlib import Path
from typing import Any

from detect.core.alert import Alert
from detect.matching.engine import Engine
from detect.outputs.events import dumps
from detect.pipeline.factory import build_reassembler, build_scan, reload_scan, scan_files
from detect.sigma.load import load_detections

CAPTURES = Path(__file__).parent / "captures"
SHADOW_ID = "d01def29-a213-4406-b07b-e693601cfb38"


def documents(out: list[dict[str, Any]]) -> Callable[[Alert], None]:
    """A sink that keeps each alert's JSON document."""
    return lambda alert: out.append(alert.document())


def correlation_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [alert for alert in alerts if "correlation" in alert]


def test_alert_carries_group_window_value_and_events() -> None:
    alerts: list[dict[str, Any]] = []
    _, summary = scan_files(
        [str(CAPTURES / "shadow_read_failures.log")], load_detections(), documents(alerts)
    )
    (alert,) = [a for a in correlation_alerts(alerts) if a["rule"]["id"] == SHADOW_ID]
    assert alert["correlation"]["group"] == {"host.name": "", "uid": "65534"}  # no node=
    assert alert["correlation"]["value"] == 5.0
    assert alert["correlation"]["window"]["start"] == "2026-11-22T04:25:22.102Z"
    assert alert["correlation"]["window"]["end"] == "2026-11-22T04:25:22.130Z"
    assert [e["serial"] for e in alert["detect"]["events"]] == [4995, 5040, 5085, 5130, 5237]
    assert alert["detect"]["events_total"] == 5
    assert alert["threat"]["technique"]["subtechnique"]["id"] == ["T1003.008"]
    # the base rule (generate: false) gives no alert of its own
    assert not [a for a in alerts if a["rule"]["name"] == "Failed Read of /etc/shadow"]
    stats = summary.extra["correlations"]
    assert stats["loaded"] >= 4 and stats["results"] >= 1 and stats["late"] == 0


def two_hosts(tmp_path: Path) -> list[Path]:
    """The four correlation captures as two hosts' logs, interleaved line by line and split
    into two files in the middle of the stream."""
    logs = sorted(CAPTURES.glob("*.log"))
    host_a = [f"node=alpha {line}" for path in logs[:2] for line in path.read_text().splitlines()]
    host_b = [f"node=beta {line}" for path in logs[2:] for line in path.read_text().splitlines()]
    mixed = [line for pair in zip_longest(host_a, host_b) for line in pair if line]
    middle = len(mixed) // 2
    files = [tmp_path / "part1.log", tmp_path / "part2.log"]
    files[0].write_text("\n".join(mixed[:middle]) + "\n")
    files[1].write_text("\n".join(mixed[middle:]) + "\n")
    return files


def test_batch_equals_live(tmp_path: Path) -> None:
    files = two_hosts(tmp_path)
    rules = load_detections()
    batch: list[dict[str, Any]] = []
    scan_files([str(path) for path in files], rules, documents(batch))
    live: list[dict[str, Any]] = []
    scan = build_scan(rules, documents(live))
    machine = build_reassembler(scan.on_event, correlations=scan.correlations)
    assert scan.correlations is not None
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(keepends=True), start=1):
            machine.push(line, str(path), number)
    machine.flush()
    scan.flush()
    assert len(correlation_alerts(batch)) >= 3
    assert [dumps(a) for a in live] == [dumps(a) for a in batch]


def test_reload_keeps_the_process_tree_and_keeps_it_off_when_off() -> None:
    rules = load_detections()
    scan = build_scan(rules, lambda alert: None)
    tree = scan.engine.tree
    assert tree is not None
    reload_scan(scan, rules)
    assert scan.engine.tree is tree
    scan.engine = Engine(rules.rules, tree=None)
    reload_scan(scan, rules)
    assert scan.engine.tree is None


def _stamp(line: str) -> str:
    return line.split(" msg=audit(", 1)[1].split("):", 1)[0]


def with_eoe(lines: list[str]) -> list[str]:
    """The capture as written by a kernel that ends each event with an EOE record: events
    complete at once, so nothing in flight holds the correlations' clock back."""
    out: list[str] = []
    for line, following in zip_longest(lines, lines[1:]):
        out.append(line)
        if following is None or _stamp(following) != _stamp(line):
            out.append(f"type=EOE msg=audit({_stamp(line)}): \n")
    return out


def test_one_event_far_ahead_in_time_does_not_close_the_windows(tmp_path: Path) -> None:
    lines = with_eoe((CAPTURES / "shadow_read_failures.log").read_text().splitlines(keepends=True))
    third_failure = next(
        i for i, line in enumerate(lines) if "type=EOE" in line and ":5085)" in line
    )
    a_year_later = 1795321522 + 365 * 24 * 3600  # a bogus clock on one record
    bogus = (
        f"type=USER_START msg=audit({a_year_later}.100:5086): pid=1 uid=0 auid=4294967295 "
        'ses=4294967295 msg=\'op=PAM:session_open acct="root" exe="/bin/login" '
        "hostname=? addr=? terminal=? res=success'\n"
    )
    path = tmp_path / "bogus.log"
    path.write_text("".join([*lines[: third_failure + 1], bogus, *lines[third_failure + 1 :]]))
    alerts: list[dict[str, Any]] = []
    _, summary = scan_files([str(path)], load_detections(), documents(alerts))
    assert [a for a in correlation_alerts(alerts) if a["rule"]["id"] == SHADOW_ID]
    assert summary.to_dict()["time_jumps_held"] == 1  # reassembly held its clock back
    assert summary.extra["correlations"]["late"] == 0
