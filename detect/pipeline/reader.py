"""The reader thread: reads batches from the source into a bounded queue.

The queue is bounded in batches and in bytes (characters of the lines queued): batches differ
in size by orders of magnitude (a line at a time from a socket, thousands from a file), and a
queue of 64 large batches held ~75 MiB for no speed (issue 20). A batch larger than the byte
bound alone still goes in when the queue is empty. A source that can wait (a file, stdin, a
socket: the writer queues meanwhile) is held back by a full queue; one that cannot (netlink:
the kernel drops when its buffer fills) drops the batch and counts its lines. An error in the
source ends the reader and goes through the queue to the loop.
"""

from __future__ import annotations

import queue
import threading

from detect.sources.live import Batch, LiveSource

QUEUE_SIZE = 64  # batches
QUEUE_BYTES = 8 << 20  # characters of queued lines: a few batches of a busy file, ~8 MiB
PUT_WAIT_S = 0.2


class EndOfInput:
    """The source has ended (stdin closed)."""


Item = Batch | EndOfInput | BaseException


def batch_bytes(batch: Batch) -> int:
    """What a batch weighs in the queue: the characters of its lines."""
    return sum(map(len, batch.lines))


class Reader:
    def __init__(
        self, source: LiveSource, size: int = QUEUE_SIZE, max_bytes: int = QUEUE_BYTES
    ) -> None:
        self.source = source
        self.queue: queue.Queue[Item] = queue.Queue(size)
        self.size = size
        self.max_bytes = max_bytes
        self.queued_bytes = 0  # characters of the batches in the queue
        self.dropped_lines = 0
        self.dropped_batches = 0
        self._stop = threading.Event()
        self._room = threading.Condition()  # guards queued_bytes; notified as batches leave
        self._thread = threading.Thread(target=self._run, name="reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def get(self, timeout: float) -> Item | None:
        try:
            return self._taken(self.queue.get(timeout=timeout))
        except queue.Empty:
            return None

    def get_nowait(self) -> Item | None:
        try:
            return self._taken(self.queue.get_nowait())
        except queue.Empty:
            return None

    def _taken(self, item: Item) -> Item:
        if isinstance(item, Batch):
            with self._room:
                self.queued_bytes -= batch_bytes(item)
                self._room.notify_all()
        return item

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self.source.read()
                if batch is not None:
                    self._put(batch)
                if self.source.done:
                    self._put(EndOfInput())
                    return
        except Exception as error:
            self._put(error)

    def _put(self, item: Item) -> None:
        if not isinstance(item, Batch):
            self._put_waiting(item)
            return
        weight = batch_bytes(item)
        if not self.source.blocking:
            if not self._reserve(weight, wait=False) or not self._put_now(item, weight):
                self.dropped_batches += 1
                self.dropped_lines += len(item.lines)
            return
        while not self._stop.is_set():
            if self._reserve(weight, wait=True):
                self._put_waiting(item, weight)
                return

    def _reserve(self, weight: int, wait: bool) -> bool:
        """Count `weight` bytes as queued when they fit (or the queue holds no bytes); when
        `wait`, wait up to PUT_WAIT_S for room first."""
        with self._room:
            fits = self.queued_bytes == 0 or self.queued_bytes + weight <= self.max_bytes
            if not fits and wait:
                self._room.wait(PUT_WAIT_S)
                fits = self.queued_bytes == 0 or self.queued_bytes + weight <= self.max_bytes
            if fits:
                self.queued_bytes += weight
            return fits

    def _put_now(self, item: Batch, weight: int) -> bool:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self._release(weight)
            return False
        return True

    def _put_waiting(self, item: Item, weight: int = 0) -> None:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=PUT_WAIT_S)
                return
            except queue.Full:
                continue
        self._release(weight)  # stopped before it went in

    def _release(self, weight: int) -> None:
        if weight:
            with self._room:
                self.queued_bytes -= weight
                self._room.notify_all()
