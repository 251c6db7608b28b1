"""The on-disk spool of a remote output: order, commit, restart, a write cut short, the bound and
its drop-oldest policy, the batch in flight, and safe files (0600/0700, no symlinks)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from detect.outputs.spool import (
    MIN_SEGMENT_BYTES,
    Spool,
    SpoolError,
    default_spool,
    spool_name,
)


def payload(n: int, size: int = 100) -> bytes:
    return f"{n:06d}".encode().ljust(size, b"x")


def drain_all(spool: Spool) -> list[bytes]:
    out: list[bytes] = []
    while (taken := spool.take(1000, 1 << 20, 0)) is not None:
        out += taken.payloads
        spool.commit(taken, 0, len(taken))
    return out


def segments(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".seg"))


def test_alerts_come_out_in_order_and_leave_only_when_committed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "out")
    for n in range(5):
        assert spool.append(payload(n))
    taken = spool.take(3, 1 << 20, 0)
    assert taken is not None and taken.payloads == [payload(n) for n in range(3)]
    assert spool.take(3, 1 << 20, 0) is None  # one batch in flight at a time
    spool.commit(taken, 0, 2)
    assert spool.pending == 3
    spool.commit(taken, 2, 3)
    assert drain_all(spool) == [payload(3), payload(4)] and spool.pending == 0
    spool.close()


def test_a_restart_sends_what_was_not_committed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "out")
    for n in range(10):
        spool.append(payload(n))
    taken = spool.take(4, 1 << 20, 0)
    assert taken is not None
    spool.commit(taken, 0, 4)
    spool.take(4, 1 << 20, 0)  # in flight when the process dies: sent again
    spool.sync()  # no close: as after SIGKILL
    again = Spool(tmp_path, "out")
    assert again.pending == 6 and drain_all(again) == [payload(n) for n in range(4, 10)]
    again.close()
    assert Spool(tmp_path, "out").pending == 0


def test_a_write_cut_short_is_removed_and_said(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "out")
    for n in range(3):
        spool.append(payload(n))
    spool.close()
    folder = tmp_path / "out"
    with (folder / segments(folder)[-1]).open("ab") as segment:
        segment.write(b"\x40\x00\x00\x00\x01\x02\x03\x04half an alert")
    said: list[str] = []
    again = Spool(tmp_path, "out", say=said.append)
    assert again.pending == 3 and again.cut_bytes == 21
    assert "21 bytes after offset 324 are not a whole alert" in said[0]
    again.append(payload(3))
    assert drain_all(again) == [payload(n) for n in range(4)]


def test_a_damaged_committed_file_sends_everything_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "out")
    for n in range(3):
        spool.append(payload(n))
    taken = spool.take(1, 1 << 20, 0)
    assert taken is not None
    spool.commit(taken, 0, 1)
    spool.close()
    (tmp_path / "out" / "committed").write_text("garbage\n")
    said: list[str] = []
    assert Spool(tmp_path, "out", say=said.append).pending == 3
    assert "committed unreadable" in said[0]


def test_a_full_spool_drops_the_oldest_counts_and_says_so_once(tmp_path: Path) -> None:
    said: list[str] = []
    bound = 8 * MIN_SEGMENT_BYTES
    spool = Spool(tmp_path, "out", max_bytes=bound, say=said.append)
    for n in range(2000):
        assert spool.append(payload(n))
        assert spool.size <= bound
    kept = drain_all(spool)
    assert spool.appended == 2000 and spool.dropped + len(kept) == 2000
    assert kept == [payload(n) for n in range(2000 - len(kept), 2000)]  # the newest stayed
    assert len(kept) * 108 > bound * 3 // 4  # drops are by segment: most of the room is kept
    full = [text for text in said if "is full" in text]
    assert len(full) == 1 and "room again" in said[-1]
    assert f"({spool.dropped} alerts dropped while full)" in said[-1]
    on_disk = sum((tmp_path / "out" / name).stat().st_size for name in segments(tmp_path / "out"))
    assert on_disk <= bound


def test_the_batch_in_flight_is_never_dropped(tmp_path: Path) -> None:
    bound = 2 * MIN_SEGMENT_BYTES
    spool = Spool(tmp_path, "out", max_bytes=bound)
    for n in range(10):
        spool.append(payload(n))
    taken = spool.take(5, 1 << 20, 0)
    assert taken is not None
    for n in range(10, 400):
        spool.append(payload(n))
    assert spool.dropped > 0 and spool.size <= bound
    spool.commit(taken, 0, 5)  # still there to commit
    rest = drain_all(spool)
    assert spool.dropped + 5 + len(rest) == 400 and rest[-1] == payload(399)


def test_an_alert_larger_than_the_bound_is_dropped_alone(tmp_path: Path) -> None:
    said: list[str] = []
    spool = Spool(tmp_path, "out", max_bytes=MIN_SEGMENT_BYTES, say=said.append)
    spool.append(payload(1))
    assert not spool.append(b"x" * MIN_SEGMENT_BYTES)
    assert spool.dropped == 1 and "larger than the spool" in said[0]
    assert drain_all(spool) == [payload(1)]


def test_one_large_alert_is_a_batch_of_its_own(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "out", max_bytes=1 << 20)
    big = payload(1, 200_000)
    spool.append(big)
    spool.append(payload(2))
    first = spool.take(100, 1000, 0)
    assert first is not None and first.payloads == [big]
    spool.commit(first, 0, 1)
    assert drain_all(spool) == [payload(2)]


def test_files_are_private_and_symlinks_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "root", "out")
    spool.append(payload(1))
    spool.append(payload(2))
    taken = spool.take(1, 1 << 20, 0)
    assert taken is not None
    spool.commit(taken, 0, 1)
    spool.close()
    folder = tmp_path / "root" / "out"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "root").stat().st_mode) == 0o700
    files = [*segments(folder), "committed"]
    assert sorted(os.listdir(folder)) == sorted(files)
    assert {stat.S_IMODE((folder / name).stat().st_mode) for name in files} == {0o600}
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SpoolError, match="symlink"):
        Spool(tmp_path / "linked", "out")
    (tmp_path / "root" / "other").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SpoolError, match="symlink"):
        Spool(tmp_path / "root", "other")
    os.chmod(tmp_path / "elsewhere", 0o777)
    with pytest.raises(SpoolError, match="writable by others"):
        Spool(tmp_path / "elsewhere", "out")


def test_a_planted_segment_symlink_is_not_followed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "out")
    spool.close()
    target = tmp_path / "target"
    target.write_bytes(b"")
    (tmp_path / "out" / "0000000000000009.seg").symlink_to(target)
    with pytest.raises(SpoolError, match="symlink"):
        Spool(tmp_path, "out")


def test_names_are_safe_distinct_and_keep_no_secret() -> None:
    name = spool_name("webhook", "https://user:pw@siem.example:8443/hook/SECRET?token=T0K")
    assert name.startswith("webhook-https-siem.example-8443-")
    assert "SECRET" not in name and "T0K" not in name and "pw" not in name
    assert name != spool_name("webhook", "https://user:pw@siem.example:8443/hook/OTHER")
    assert spool_name("syslog", "unix:///dev/log").startswith("syslog-unix-_dev_log-")
    assert "/" not in spool_name("syslog", "unix:///../../etc")


def test_the_default_place() -> None:
    home = {"HOME": "/home/u"}
    assert default_spool(Path("/var/x/cp.json"), 0, {}) == Path("/var/x/spool")
    assert default_spool(None, 0, home) == Path("/var/lib/detect/spool")
    assert default_spool(None, 1000, home) == Path("/home/u/.local/state/detect/spool")
    assert default_spool(None, 1000, {**home, "XDG_STATE_HOME": "/s"}) == Path("/s/detect/spool")


def test_a_record_damaged_after_opening_is_cut_counted_and_said(tmp_path: Path) -> None:
    said: list[str] = []
    spool = Spool(tmp_path, "out", say=said.append)
    for n in range(4):
        spool.append(payload(n))
    spool.sync()
    segment = tmp_path / "out" / segments(tmp_path / "out")[0]
    with segment.open("r+b") as file:
        file.seek(2 * 108 + 20)  # inside the third alert's payload
        file.write(b"#")
    first = spool.take(100, 1 << 20, 0)
    assert first is not None and first.payloads == [payload(0), payload(1)]
    spool.commit(first, 0, 2)
    assert spool.take(100, 1 << 20, 0) is None and spool.pending == 0
    assert spool.dropped == 2 and "damaged at offset 216: 2 alerts lost" in said[-1]
    spool.append(payload(9))
    assert drain_all(spool) == [payload(9)]


def test_a_write_the_disk_refuses_is_counted_not_raised(tmp_path: Path) -> None:
    said: list[str] = []
    spool = Spool(tmp_path, "out", max_bytes=2 * MIN_SEGMENT_BYTES, say=said.append)
    (tmp_path / "out" / "0000000000000002.seg").mkdir()  # where the next segment would go
    results = [spool.append(payload(n)) for n in range(60)]
    assert results.count(False) == spool.dropped > 0
    assert said == [
        f"spool {tmp_path / 'out'}: cannot write: File exists: alert dropped (drops are counted)"
    ]
    (tmp_path / "out" / "0000000000000002.seg").rmdir()
    assert spool.append(payload(99)) and said[-1].endswith("writing again")
