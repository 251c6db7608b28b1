"""The delivery thread of a remote output, with a scripted receiver and a real spool: retries
with backoff until accepted, refusals isolated by halving the batch, drain at shutdown, and what
is left in the spool delivered after a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from detect.core.alert import Alert, RuleInfo
from detect.outputs.delivery import (
    ACCEPTED,
    Backoff,
    Outcome,
    RemoteOutput,
    failed,
    refused,
)
from detect.outputs.spool import Spool

RULE = RuleInfo("r1", "Rule one", "high", "r.yml", (), {"event": {}, "detect": {}})
FAST = Backoff(0.001, 0.004)


class Receiver:
    """Answers from a script (then accepts); keeps what it accepted."""

    name, confirms = "test receiver", True

    def __init__(self, script: Sequence[Outcome] = (), batch: int = 10) -> None:
        self.script = list(script)
        self.batch_records = batch
        self.got: list[bytes] = []
        self.attempts: list[int] = []
        self.refuse: set[bytes] = set()
        self.lock = threading.Lock()

    def send(self, payloads: Sequence[bytes]) -> Outcome:
        with self.lock:
            self.attempts.append(len(payloads))
            if self.script:
                return self.script.pop(0)
            if self.refuse & set(payloads):
                return refused("HTTP 400")
            self.got += payloads
            return ACCEPTED

    def close(self) -> None:
        """Nothing to close."""


def alert(n: int) -> Alert:
    return Alert(RULE, n, None, [])


def encode(item: Alert) -> bytes:
    return str(item.time_ms).encode()


def wait_until(predicate: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def output(tmp_path: Path, receiver: Receiver, said: list[str]) -> RemoteOutput:
    spool = Spool(tmp_path, "out", say=said.append)
    return RemoteOutput(receiver, encode, spool, backoff=FAST, say=said.append)


def test_backoff_doubles_up_to_its_cap() -> None:
    delays = Backoff(0.5, 3.0).delays()
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_retried_until_accepted_and_counted(tmp_path: Path) -> None:
    said: list[str] = []
    receiver = Receiver([failed("connection refused")] * 3 + [failed("HTTP 503")] * 2)
    out = output(tmp_path, receiver, said)
    out(alert(1))
    wait_until(lambda: receiver.got)
    for n in range(2, 6):
        out(alert(n))
    wait_until(lambda: out.counts().delivered == 5)
    counts = out.counts()
    assert (counts.delivered, counts.pending, counts.retried, counts.dropped) == (5, 0, 1, 0)
    assert receiver.got == [b"1", b"2", b"3", b"4", b"5"]
    assert said[0].startswith("test receiver: not accepted (connection refused): trying again")
    assert said[1] == "test receiver: delivering again" and len(said) == 2
    out.close()


def test_a_refused_alert_is_found_by_halving_and_dropped(tmp_path: Path) -> None:
    said: list[str] = []
    receiver = Receiver(batch=8)
    receiver.refuse = {b"3", b"6"}
    spool = Spool(tmp_path, "out", say=said.append)
    for n in range(8):
        spool.append(str(n).encode())
    out = RemoteOutput(receiver, encode, spool, backoff=FAST, say=said.append)
    wait_until(lambda: out.counts().pending == 0)
    counts = out.counts()
    assert receiver.got == [b"0", b"1", b"2", b"4", b"5", b"7"]
    assert (counts.delivered, counts.dropped) == (6, 2)
    assert receiver.attempts[0] == 8  # the whole batch first
    refusals = [text for text in said if "refused" in text]
    assert refusals == [
        "test receiver: an alert was refused (HTTP 400): dropped; "
        "further refusals for this reason are only counted"
    ]
    out.close()


def test_what_is_not_delivered_at_the_end_waits_for_the_next_start(tmp_path: Path) -> None:
    said: list[str] = []
    receiver = Receiver([failed("connection refused")] * 1000)
    out = output(tmp_path, receiver, said)
    for n in range(5):
        out(alert(n))
    out.flush()
    started = time.monotonic()
    out.drain(time.monotonic() + 0.2)
    out.close()
    assert 0.2 <= time.monotonic() - started < 5
    assert out.counts().pending == 5 and out.counts().delivered == 0 and not receiver.got
    again = Receiver()
    restarted = output(tmp_path, again, said)
    restarted.drain(time.monotonic() + 10)
    assert again.got == [b"0", b"1", b"2", b"3", b"4"] and restarted.counts().pending == 0
    restarted.close()


def test_drain_wakes_a_thread_waiting_out_a_long_backoff(tmp_path: Path) -> None:
    receiver = Receiver([failed("HTTP 503")])
    spool = Spool(tmp_path, "out")
    out = RemoteOutput(receiver, encode, spool, backoff=Backoff(60, 60), say=lambda _: None)
    out(alert(1))
    wait_until(lambda: receiver.attempts)
    started = time.monotonic()
    out.drain(time.monotonic() + 5)
    assert receiver.got == [b"1"] and time.monotonic() - started < 2
    out.close()


def test_the_thread_outlives_a_spool_it_cannot_commit_to(tmp_path: Path) -> None:
    said: list[str] = []
    receiver = Receiver()
    out = output(tmp_path, receiver, said)
    blocker = tmp_path / "out" / ".committed.tmp"
    blocker.mkdir()  # the committed file cannot be replaced: commit fails
    out(alert(1))
    wait_until(lambda: any("spool: [Errno 21] Is a directory" in text for text in said))
    blocker.rmdir()
    wait_until(lambda: out.counts().pending == 0)
    assert receiver.got == [b"1"] and out.counts().delivered == 1  # the position moved on
    out.close()


def test_a_transport_that_cannot_confirm_does_not_flap(tmp_path: Path) -> None:
    said: list[str] = []
    receiver = Receiver([failed("connection refused"), ACCEPTED] * 3, batch=1)
    receiver.confirms = False  # UDP: a send "succeeds" between the refusals
    out = output(tmp_path, receiver, said)
    for n in range(6):
        out(alert(n))
    wait_until(lambda: out.counts().pending == 0)
    assert len(said) == 1 and "not accepted (connection refused)" in said[0]
    assert out.counts().text().startswith("test receiver: sent 6, pending 0, retried 3")
    out.close()
