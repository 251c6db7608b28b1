"""The reader thread: reads batches from the source into a bounded queue.

A source that can wait (a file, stdin, a socket: the writer queues meanwhile) is held back by a
full queue; one that cannot (netlink: the kernel drops when its buffer fills) drops the batch and
counts its lines. An error in the source ends the reader and goes through the queue to the loop.
"""

from __future__ import annotations

import queue
import threading

from detect.sources.live import Batch, LiveSource

QUEUE_SIZE = 64  # batches
PUT_WAIT_S = 0.2


class EndOfInput:
    """The source has ended (stdin closed)."""


Item = Batch | EndOfInput | BaseException


class Reader:
    def __init__(self, source: LiveSource, size: int = QUEUE_SIZE) -> None:
        self.source = source
        self.queue: queue.Queue[Item] = queue.Queue(size)
        self.size = size
        self.dropped_lines = 0
        self.dropped_batches = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def get(self, timeout: float) -> Item | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_nowait(self) -> Item | None:
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            return None

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
        if not self.source.blocking and isinstance(item, Batch):
            try:
                self.queue.put_nowait(item)
            except queue.Full:
                self.dropped_batches += 1
                self.dropped_lines += len(item.lines)
            return
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=PUT_WAIT_S)
                return
            except queue.Full:
                continue
