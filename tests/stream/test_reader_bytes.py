"""The reader's queue is bounded in bytes as well as in batches (issue 20: flat memory)."""

from __future__ import annotations

import time

from detect.pipeline.reader import Reader, batch_bytes
from detect.sources.live import Batch

LINE = "type=EOE msg=audit(1.000:1): " + "x" * 70 + "\n"  # 100 characters


class Source:
    name, done = "fake", False

    def __init__(self, blocking: bool, lines: int = 10) -> None:
        self.blocking = blocking
        self.lines = lines
        self.read_batches = 0

    def read(self) -> Batch:
        self.read_batches += 1
        return Batch([LINE] * self.lines, "fake")


def _wait_for(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_a_source_that_can_wait_is_held_back_by_bytes_not_only_batches() -> None:
    source = Source(blocking=True)  # 1,000 characters a batch
    reader = Reader(source, size=64, max_bytes=2500)  # type: ignore[arg-type]
    reader.start()
    _wait_for(lambda: source.read_batches >= 3)
    time.sleep(0.3)
    assert reader.queue.qsize() == 2 and reader.queued_bytes == 2000  # a third does not fit
    item = reader.get(1.0)
    assert isinstance(item, Batch) and batch_bytes(item) == 1000
    _wait_for(lambda: reader.queue.qsize() == 2 and source.read_batches >= 4)
    assert reader.queued_bytes == 2000
    reader.stop()


def test_a_batch_larger_than_the_bound_goes_in_alone() -> None:
    source = Source(blocking=True, lines=50)  # 5,000 characters
    reader = Reader(source, size=64, max_bytes=1000)  # type: ignore[arg-type]
    reader.start()
    _wait_for(lambda: reader.queue.qsize() == 1)
    time.sleep(0.3)
    assert reader.queue.qsize() == 1 and reader.queued_bytes == 5000
    assert isinstance(reader.get(1.0), Batch)
    _wait_for(lambda: reader.queued_bytes == 5000 and reader.queue.qsize() == 1)
    reader.stop()


def test_a_source_that_cannot_wait_drops_what_the_bytes_bound_refuses() -> None:
    source = Source(blocking=False)
    reader = Reader(source, size=64, max_bytes=3000)  # type: ignore[arg-type]
    reader.start()
    _wait_for(lambda: reader.dropped_batches >= 3)
    reader.stop()
    assert reader.queue.qsize() == 3 and reader.queued_bytes == 3000
    assert reader.dropped_lines == 10 * reader.dropped_batches
