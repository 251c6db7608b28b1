"""Issue 18 items 7 and 8 (must show 5): `--follow` sees a truncation however fast the file
regrows; one record far ahead in time, or with a serial far out of range, neither splits events
nor counts billions lost; no alert is lost."""

from __future__ import annotations

import os
from pathlib import Path

from detect.auditd.reassemble import Limits
from detect.pipeline.factory import PipelineSettings, build_scan, load_rules, run_scan
from detect.sources.follow import Follower
from tests.hardening.helpers import CAPTURES, capture_lines, reassemble
from tests.hardening.rules import echo_hello, write_rules


def test_follow_sees_a_truncation_when_the_file_regrew_past_the_offset(tmp_path: Path) -> None:
    """copytruncate, then more lines than before, all between two reads."""
    log = tmp_path / "audit.log"
    lines = capture_lines("connect") + capture_lines("file_ops")
    first, again = "".join(capture_lines("execve_args")[:5]), "".join(lines)
    assert len(again.encode()) > len(first.encode())
    log.write_text(first)
    follower = Follower(str(log), from_beginning=True, sleep=lambda s: None)
    follower.open()
    got = []
    while (batch := follower.read()) is not None:
        got += batch.lines
    assert got == capture_lines("execve_args")[:5]
    with log.open("r+") as file:  # truncated and rewritten in place: same inode
        file.truncate(0)
        file.write(again)
    got = []
    for _ in range(5):
        batch = follower.read()
        got += batch.lines if batch is not None else []
    assert follower.truncations == 1
    assert got == lines  # from the start of the new content, nothing skipped
    follower.close()


def test_follow_without_truncation_reads_on(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    lines = capture_lines("execve_args")
    log.write_text("".join(lines[:10]))
    follower = Follower(str(log), from_beginning=True, sleep=lambda s: None)
    follower.open()
    first = follower.read()
    with log.open("a") as file:
        file.write("".join(lines[10:]))
    second = follower.read()
    assert first is not None and second is not None
    assert first.lines + second.lines == lines and follower.truncations == 0
    follower.close()


def far_ahead(lines: list[str], ahead_s: int, serial: int = 9999) -> list[str]:
    """One record of a made-up event `ahead_s` seconds after the capture's, in the middle."""
    stamp = lines[0].split("audit(")[1].split(":")[0]
    seconds, millis = stamp.split(".")
    bogus = f"type=SYSCALL msg=audit({int(seconds) + ahead_s}.{millis}:{serial}): arch=c000003e"
    middle = len(lines) // 2
    return [*lines[:middle], bogus + " syscall=2 pid=1\n", *lines[middle:]]


def shapes(lines: list[str]) -> list[tuple[int, int]]:
    events, _ = reassemble(lines)
    return sorted((e.serial, len(e.records)) for e in events)


def test_one_record_minutes_ahead_splits_no_event() -> None:
    lines = capture_lines("interleaved")  # 153 events whose records interleave
    expected = shapes(lines)
    for ahead_s in (3, 60, 590, 3600):
        events, machine = reassemble(far_ahead(lines, ahead_s))
        got = sorted((e.serial, len(e.records)) for e in events if e.serial != 9999)
        assert got == expected, ahead_s
        assert machine.stats.late_records == 0 and machine.stats.time_jumps_held >= 1


def test_one_record_ahead_loses_no_alert(tmp_path: Path) -> None:
    rules = load_rules(
        PipelineSettings(
            rule_paths=(str(write_rules(tmp_path, ok=echo_hello())),), default_rules=False
        )
    )
    lines = capture_lines("execve_args")

    def alerts(of: list[str]) -> list[str]:
        out: list[str] = []
        scan = build_scan(rules, lambda alert: out.append(alert.rule.title))
        run_scan(scan, [(line, "t.log", n) for n, line in enumerate(of, 1)])
        return out

    baseline = alerts(lines)
    assert baseline == ["echo hello"]
    for ahead_s in (3, 120, 599):
        assert alerts(far_ahead(lines, ahead_s)) == baseline


def test_a_serial_far_out_of_range_is_an_outlier_not_billions_lost() -> None:
    lines = capture_lines("interleaved")
    _, plain = reassemble(lines)
    for serial in (4_294_967_000, 3_000_000_000, 40_000_000):
        _, machine = reassemble(far_ahead(lines, 0, serial=serial))
        assert machine.lost <= plain.lost + 1, serial
        assert machine.stats.serial_outliers == 1 and machine.stats.serial_resets == 0


def test_a_real_reset_is_confirmed_by_the_records_after_it() -> None:
    lines = capture_lines("execve_args")
    rebooted = [line.replace(":21", ":2000021") for line in lines]  # far away: another boot
    _, machine = reassemble(lines + rebooted, Limits())
    assert machine.stats.serial_resets == 1 and machine.stats.serial_outliers == 0
    assert machine.lost < 100
    assert os.path.exists(CAPTURES / "execve_args.md")
