"""The live pieces in-process: netlink decoding, wall-clock expiry (injected clock), the reader's
drop counting, the stdin source, the stats line, and dropping privileges."""

from __future__ import annotations

import os
import struct

import pytest

from detect.auditd.reassemble import Reassembler
from detect.outputs.delivery import DeliveryCounts
from detect.pipeline.expiry import WallClockExpiry
from detect.pipeline.reader import Reader
from detect.pipeline.stats import StatsSnapshot
from detect.sources.live import Batch
from detect.sources.netlink import HEADER, decode_messages, record_line
from detect.sources.stdin import StdinSource


def message(rtype: int, text: bytes) -> bytes:
    body = text + b"\0"
    raw = HEADER.pack(HEADER.size + len(body), rtype, 0, 0, 0) + body
    return raw + b"\0" * (-len(raw) % 4)


def test_netlink_messages_become_log_lines() -> None:
    data = message(1300, b"audit(1795321302.314:4773): arch=c000003e syscall=59") + message(
        1320, b"audit(1795321302.314:4773): "
    )
    lines = [record_line(t, p) for t, p in decode_messages(data)]
    assert lines == [
        "type=SYSCALL msg=audit(1795321302.314:4773): arch=c000003e syscall=59\n",
        "type=EOE msg=audit(1795321302.314:4773): \n",
    ]
    assert record_line(1999, b"audit(1.000:1): x") == "type=UNKNOWN[1999] msg=audit(1.000:1): x\n"
    assert decode_messages(struct.pack("=IHHII", 99, 1300, 0, 0, 0)) == []  # length past the end


def test_wall_clock_expiry_completes_idle_events() -> None:
    now = [100.0]
    events: list[object] = []
    machine = Reassembler(events.append)
    expiry = WallClockExpiry(machine, lambda: now[0], idle_s=0.5)
    machine.push("type=SYSCALL msg=audit(1.000:1): a=1\n")
    expiry.maintain()
    now[0] += 0.4
    machine.push("type=PATH msg=audit(1.000:1): b=2\n")  # grew: its idle time starts again
    assert expiry.maintain() == 0
    now[0] += 0.4
    assert expiry.maintain() == 0 and not events
    now[0] += 0.2
    assert expiry.maintain() == 1 and len(events) == 1
    assert machine.stats.expired == 1 and machine.inflight == 0


class Endless:
    name, blocking, done = "fake", False, False

    def read(self) -> Batch:
        return Batch(["type=EOE msg=audit(1.000:1): \n"] * 10, "fake")


def test_reader_drops_and_counts_when_the_source_cannot_wait() -> None:
    reader = Reader(Endless(), size=2)  # type: ignore[arg-type]
    reader.start()
    while reader.dropped_batches < 3:
        pass
    reader.stop()
    assert reader.queue.qsize() == 2 and reader.dropped_lines == 10 * reader.dropped_batches


def test_stdin_source_reads_lines_to_the_end() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"one\ntwo\nthr")
    os.close(write_fd)
    source = StdinSource(read_fd)
    source.open()
    batches = []
    while not source.done:
        batch = source.read()
        if batch is not None:
            batches.append(batch)
    assert [line for b in batches for line in b.lines] == ["one\n", "two\n", "thr\n"]
    assert batches[-1].first_lineno == 3
    os.close(read_fd)


def test_stats_line() -> None:
    snapshot = StatsSnapshot(1520.4, 0.034, 2, 3, 7, 1, 2, 0, 64)
    assert snapshot.line() == (
        "stream: 1520 events/s, lag 0.03 s, lost 5 (serial gaps 2, kernel 3), drops 7, "
        "alerts 1, in flight 2, queue 0/64"
    )
    unknown = StatsSnapshot(0, None, 0, None, 0, 0, 0, 0, 64)
    assert "lag -" in unknown.line() and "kernel n/a" in unknown.line()
    outputs = (
        DeliveryCounts("webhook https://siem:8443", 7, 2, 3, 1),
        DeliveryCounts("syslog udp://10.0.0.1:514", 9, 0, 0, 0, confirms=False),
    )
    delivered = StatsSnapshot(0, None, 0, None, 0, 0, 0, 0, 64, outputs)
    assert delivered.line().endswith(
        "queue 0/64; webhook https://siem:8443: delivered 7, pending 2, retried 3, dropped 1; "
        "syslog udp://10.0.0.1:514: sent 9, pending 0, retried 0, dropped 0"
    )
    assert delivered.to_dict()["outputs"][1]["sent"] == 9


def test_drop_privileges_in_a_child() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges")
    from detect.pipeline.privileges import PrivilegeError, drop_to

    with pytest.raises(PrivilegeError, match="no such user"):
        drop_to("no-such-user-here")
    pid = os.fork()
    if pid == 0:  # the child drops, then must fail to read a root-only file
        code = 1
        try:
            uid, _ = drop_to("nobody")
            code = 0 if uid == os.getuid() != 0 and not os.access("/etc/shadow", os.R_OK) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
