"""The on-disk spool of one remote output: an alert waits here until its receiver accepted it.

One folder per output (0700) inside the stream's spool folder:

    0000000000000001.seg   records in the order appended: an 8-byte header (payload length and
    0000000000000002.seg   CRC-32, little-endian), then the payload (the bytes the output sends)
    committed              "SEGMENT OFFSET": every record before it was accepted or dropped

The stream's thread `append`s to the newest segment (a new one is started past
`segment_bytes`); `sync` fsyncs what was appended (the stream calls it after each batch and
before it writes a checkpoint). The delivery thread `take`s a batch at the committed position,
sends it, and `commit`s what the receiver accepted; a segment committed to its end is deleted.
`committed` is replaced atomically (a new temporary file, fsync, rename, fsync of the folder):
a crash at any point, SIGKILL included, sends again at most the batch that was in flight
(at-least-once; receivers drop duplicates by the alert's `event.id`).

Bounded: the segments together stay within `max_bytes`. When an alert would not fit, the oldest
alerts are dropped (whole segments from the oldest; of the segment being delivered, the records
after the batch in flight), counted in `dropped`, and said once per episode (an episode ends
when the spool is back under half its bound). An alert larger than the whole bound is dropped
itself. Nothing of the spool is held in memory but the batch being delivered and one small
entry per segment.

Recovery: at `open`, every segment is read through once (headers and CRCs); a segment that does
not end on a whole record (a write cut by a crash) is cut back to its last whole record, and the
cut is reported. Files are created 0600 and folders 0700, opened relative to their folder's
handle, never through a symlink, and used only when they are our own (regular, one link).
"""

from __future__ import annotations

import os
import re
import struct
import threading
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from detect.outputs.spool_files import (
    FILE_FLAGS,
    FILE_MODE,
    SpoolError,
    check_file,
    default_spool,
    open_root,
    open_subfolder,
    spool_name,
    why,
)

__all__ = ["Spool", "SpoolError", "Taken", "default_spool", "spool_name"]

MAX_BYTES = 256 << 20
SEGMENTS = 8  # a segment is at most max_bytes / SEGMENTS (and at most MAX_SEGMENT_BYTES)
MAX_SEGMENT_BYTES = 16 << 20
MIN_SEGMENT_BYTES = 4 << 10
MAX_RECORD_BYTES = 64 << 20  # a header that says more is not a header
RECORD = struct.Struct("<II")
COMMITTED = "committed"
COMMITTED_TMP = ".committed.tmp"
SEGMENT_NAME = re.compile(r"^(\d{16})\.seg$")


Say = Callable[[str], None]


def _quiet(text: str) -> None:
    """Messages nobody asked to see."""


@dataclass(slots=True)
class Segment:
    number: int
    size: int = 0
    records: int = 0

    @property
    def name(self) -> str:
        return f"{self.number:016d}.seg"


@dataclass(frozen=True, slots=True)
class Taken:
    """A batch read for delivery: the payloads, their segment, the offset after each record."""

    payloads: list[bytes]
    segment: int
    ends: list[int]

    def __len__(self) -> int:
        return len(self.payloads)


class Spool:
    """The spool of one output. Thread-safe: `append` and `sync` from the stream's thread,
    `take` and `commit` from the delivery thread."""

    def __init__(
        self,
        root: Path,
        name: str,
        *,
        max_bytes: int = MAX_BYTES,
        say: Say = _quiet,
    ) -> None:
        if max_bytes < MIN_SEGMENT_BYTES:
            raise SpoolError(f"a spool needs at least {MIN_SEGMENT_BYTES} bytes")
        self.path = root / name
        self.max_bytes = max_bytes
        self.segment_bytes = max(MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, max_bytes // SEGMENTS))
        self.say = say
        self.appended = 0
        self.dropped = 0  # by the bound, or because the disk refused the write
        self.cut_bytes = 0  # unfinished records cut at open
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._segments: list[Segment] = []
        self._fds: dict[int, int] = {}
        self._acked_offset = 0  # in the oldest segment
        self._acked_records = 0
        self._inflight_end = 0  # in the oldest segment: the end of the batch taken, if any
        self._inflight = 0
        self._dirty: set[int] = set()
        self._folder_dirty = False
        self._bytes = 0
        self._full = False
        self._dropped_at_full = 0
        self._refusal: str | None = None  # why the last alert was dropped, until one is written
        self._closed = False
        root_fd = open_root(root)
        try:
            self._dir = open_subfolder(root_fd, root, name)
        finally:
            os.close(root_fd)
        try:
            self._recover()
        except BaseException as error:
            self._close_fds()
            if isinstance(error, OSError):
                raise SpoolError(f"{self.path}: {why(error)}") from None
            raise

    # --- state ---

    @property
    def pending(self) -> int:
        """Alerts in the spool not yet accepted (the batch in flight included)."""
        with self._lock:
            return self._pending()

    def _pending(self) -> int:
        return sum(segment.records for segment in self._segments) - self._acked_records

    @property
    def size(self) -> int:
        """Bytes the segments take on disk."""
        with self._lock:
            return self._bytes

    # --- opening ---

    def _recover(self) -> None:
        numbers = sorted(
            int(match[1]) for name in os.listdir(self._dir) if (match := SEGMENT_NAME.match(name))
        )
        committed = self._read_committed()
        for number in numbers:
            if committed is not None and number < committed[0]:
                self._unlink(Segment(number))  # committed before a crash, not yet removed
                continue
            self._segments.append(self._scan(Segment(number)))
        self._bytes = sum(segment.size for segment in self._segments)
        if self._segments and committed is not None and committed[0] == self._segments[0].number:
            self._resume_at(committed[1])
        if not self._segments:
            self._segments.append(self._create(max(numbers, default=0) + 1))
        self._release_tail()

    def _read_committed(self) -> tuple[int, int] | None:
        try:
            fd = os.open(COMMITTED, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._dir)
        except FileNotFoundError:
            return None
        try:
            text = os.read(fd, 100).decode("ascii", "replace").split()
        finally:
            os.close(fd)
        if len(text) == 2 and text[0].isdigit() and text[1].isdigit():
            return int(text[0]), int(text[1])
        self.say(f"spool {self.path}: {COMMITTED} unreadable: every alert in it is sent again")
        return None

    def _scan(self, segment: Segment) -> Segment:
        """Count the segment's whole records; cut an unfinished one at its end."""
        fd = self._fd(segment.number)
        size = os.fstat(fd).st_size
        offset = records = 0
        while offset < size:
            length = self._record_length(fd, offset, size)
            if length is None:
                break
            offset += RECORD.size + length
            records += 1
        if offset < size:
            os.ftruncate(fd, offset)
            os.fsync(fd)
            self.cut_bytes += size - offset
            self.say(
                f"spool {self.path}: {segment.name}: {size - offset} bytes after offset {offset} "
                "are not a whole alert (a write cut short): removed"
            )
        segment.size, segment.records = offset, records
        return segment

    @staticmethod
    def _record_length(fd: int, offset: int, size: int) -> int | None:
        header = os.pread(fd, RECORD.size, offset)
        if len(header) < RECORD.size:
            return None
        length, crc = RECORD.unpack(header)
        if length > MAX_RECORD_BYTES or offset + RECORD.size + length > size:
            return None
        if zlib.crc32(os.pread(fd, length, offset + RECORD.size)) != crc:
            return None
        return length

    def _resume_at(self, offset: int) -> None:
        """Start after the committed offset, if it is the end of a whole record."""
        fd, tail = self._fd(self._segments[0].number), self._segments[0]
        at = records = 0
        while at < offset and at < tail.size:
            header = RECORD.unpack(os.pread(fd, RECORD.size, at))
            at += RECORD.size + header[0]
            records += 1
        if at != offset:
            self.say(f"spool {self.path}: {COMMITTED} is not at an alert: {tail.name} sent again")
            at = records = 0
        self._acked_offset, self._acked_records = at, records

    # --- files ---

    def _fd(self, number: int) -> int:
        fd = self._fds.get(number)
        if fd is not None:
            return fd
        name = Segment(number).name
        fd = os.open(name, FILE_FLAGS, dir_fd=self._dir)
        try:
            check_file(fd, self.path / name)
        except BaseException:
            os.close(fd)
            raise
        os.set_blocking(fd, True)
        self._fds[number] = fd
        return fd

    def _create(self, number: int) -> Segment:
        segment = Segment(number)
        fd = os.open(segment.name, FILE_FLAGS | os.O_CREAT | os.O_EXCL, FILE_MODE, dir_fd=self._dir)
        os.set_blocking(fd, True)
        self._fds[number] = fd
        self._folder_dirty = True
        return segment

    def _close_fd(self, number: int) -> None:
        fd = self._fds.pop(number, None)
        if fd is not None:
            os.close(fd)

    def _unlink(self, segment: Segment) -> None:
        self._close_fd(segment.number)
        self._dirty.discard(segment.number)
        with suppress(FileNotFoundError):
            os.unlink(segment.name, dir_fd=self._dir)
        self._folder_dirty = True

    def _write_committed(self) -> None:
        tail = self._segments[0]
        data = f"{tail.number} {self._acked_offset}\n".encode()
        with suppress(FileNotFoundError):
            os.unlink(COMMITTED_TMP, dir_fd=self._dir)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(COMMITTED_TMP, flags, FILE_MODE, dir_fd=self._dir)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(COMMITTED_TMP, COMMITTED, src_dir_fd=self._dir, dst_dir_fd=self._dir)
        os.fsync(self._dir)
        self._folder_dirty = False

    # --- the writer's side ---

    def append(self, payload: bytes) -> bool:
        """`payload` in the spool (fsync'd by the next `sync`); False when it was dropped (it
        alone is larger than the bound, or the disk refused it: counted and said)."""
        record = RECORD.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            if self._closed:
                raise SpoolError(f"spool {self.path}: closed")
            if len(record) > self.max_bytes:
                self._drop_new(f"an alert of {len(payload)} bytes is larger than the spool")
                return False
            try:
                self._make_room(len(record))
                if self._bytes + len(record) > self.max_bytes:
                    self._drop_new("no room left beside the batch being delivered")
                    return False
                self._write(record)
            except OSError as error:
                self._drop_new(f"cannot write: {error.strerror or error}")
                return False
            return True

    def _write(self, record: bytes) -> None:
        head = self._head_for(len(record))
        fd = self._fd(head.number)
        try:
            written = 0
            while written < len(record):
                written += os.pwrite(fd, record[written:], head.size + written)
        except OSError:
            with suppress(OSError):
                os.ftruncate(fd, head.size)  # no half record left behind
            raise
        if self._refusal is not None:
            if self._refusal.startswith("cannot write"):
                self.say(f"spool {self.path}: writing again")
            self._refusal = None
        head.size += len(record)
        head.records += 1
        self._bytes += len(record)
        self.appended += 1
        self._dirty.add(head.number)
        self._ready.notify_all()

    def _drop_new(self, why: str) -> None:
        """The alert being appended is dropped; each reason said once until a write succeeds."""
        self.dropped += 1
        if self._refusal != why:
            self._refusal = why
            self.say(f"spool {self.path}: {why}: alert dropped (drops are counted)")

    def _head_for(self, size: int) -> Segment:
        head = self._segments[-1]
        if head.size and head.size + size > self.segment_bytes:
            head = self._seal()
        return head

    def _seal(self) -> Segment:
        """Start a new segment; the one before is complete (and fsync'd)."""
        old = self._segments[-1]
        if old.number in self._dirty:
            os.fsync(self._fd(old.number))
            self._dirty.discard(old.number)
        head = self._create(old.number + 1)
        self._segments.append(head)
        if old is not self._segments[0]:
            self._close_fd(old.number)  # open: the oldest segment (read) and the newest (written)
        self._release_tail()
        return head

    def _make_room(self, size: int) -> None:
        while self._bytes + size > self.max_bytes and self._drop_oldest():
            pass

    def _drop_oldest(self) -> bool:
        """Free room by the policy; False when nothing can be dropped."""
        if len(self._segments) == 1:
            if not self._segments[0].size:
                return False
            self._seal()
        for index, segment in enumerate(self._segments[:-1]):
            if index == 0 and self._inflight:
                if segment.size > self._inflight_end:
                    self._cut_after_inflight(segment)
                    return True
                continue
            acked = self._acked_records if index == 0 else 0
            self._count_drops(segment.records - acked)
            self._bytes -= segment.size
            self._unlink(segment)
            del self._segments[index]
            if index == 0:
                self._acked_offset = self._acked_records = 0
                self._write_committed()
            return True
        return False

    def _cut_after_inflight(self, segment: Segment) -> None:
        fd = self._fd(segment.number)
        os.ftruncate(fd, self._inflight_end)
        self._count_drops(segment.records - self._acked_records - self._inflight)
        self._bytes -= segment.size - self._inflight_end
        segment.size = self._inflight_end
        segment.records = self._acked_records + self._inflight

    def _count_drops(self, records: int) -> None:
        if not records:
            return
        if not self._full:
            self._full, self._dropped_at_full = True, self.dropped
            self.say(
                f"spool {self.path} is full ({self.max_bytes} bytes): the oldest alerts are "
                "dropped (and counted) until the receiver catches up"
            )
        self.dropped += records

    def sync(self) -> None:
        """What was appended, on disk (fsync); a failure is said (the alerts are still in the
        spool, but may not survive a crash of the machine)."""
        with self._lock:
            try:
                for number in sorted(self._dirty):
                    if number in self._fds:
                        os.fsync(self._fds[number])
                if self._folder_dirty:
                    os.fsync(self._dir)
                    self._folder_dirty = False
            except OSError as error:
                self.say(f"spool {self.path}: fsync failed: {error.strerror or error}")
            self._dirty.clear()

    # --- the delivery side ---

    def take(self, max_records: int, max_bytes: int, wait_s: float) -> Taken | None:
        """The next batch (at most `max_records` and, past its first alert, `max_bytes`) after
        the committed position, waiting up to `wait_s` for one; None when there is none."""
        with self._lock:
            if not self._closed and not self._readable():
                self._ready.wait(wait_s)
            if self._closed or not self._readable():
                return None
            return self._read(max_records, max_bytes)

    def _readable(self) -> bool:
        return not self._inflight and self._pending() > 0

    def _read(self, max_records: int, max_bytes: int) -> Taken | None:
        tail = self._segments[0]
        start = self._acked_offset
        fd = self._fd(tail.number)
        data = os.pread(fd, max(min(max_bytes, tail.size - start), RECORD.size), start)
        payloads: list[bytes] = []
        ends: list[int] = []
        at = 0
        while len(payloads) < max_records and at + RECORD.size <= len(data):
            length, crc = RECORD.unpack_from(data, at)
            end = at + RECORD.size + length
            if end > len(data):
                if payloads:
                    break
                data = data[:at] + os.pread(fd, end - at, start + at)  # one large alert alone
            payload = data[at + RECORD.size : end]
            if zlib.crc32(payload) != crc:
                self._cut_damaged(tail, start + at, len(payloads))
                break
            payloads.append(payload)
            ends.append(start + end)
            at = end
        if not payloads:
            return None
        self._inflight += len(payloads)
        self._inflight_end = ends[-1]
        return Taken(payloads, tail.number, ends)

    def _cut_damaged(self, tail: Segment, offset: int, before: int) -> None:
        """A record damaged since the spool was opened: its segment is cut there, the alerts
        from it on are dropped (counted and said)."""
        lost = tail.records - self._acked_records - before
        os.ftruncate(self._fd(tail.number), offset)
        self._bytes -= tail.size - offset
        tail.size, tail.records = offset, tail.records - lost
        self.dropped += lost
        self.say(f"spool {self.path}: {tail.name} damaged at offset {offset}: {lost} alerts lost")

    def commit(self, taken: Taken, start: int, end: int) -> None:
        """`taken[start:end]` is done with (accepted, or refused for good); what comes before
        `start` was committed already."""
        with self._lock:
            if self._closed or end <= start:
                return
            tail = self._segments[0]
            assert taken.segment == tail.number, "the segment in flight is never dropped"
            self._acked_offset = taken.ends[end - 1]
            self._acked_records += end - start
            self._inflight -= end - start
            if not self._inflight:
                self._inflight_end = 0
            self._release_tail()
            self._write_committed()
            if self._full and self._bytes <= self.max_bytes // 2:
                self._full = False
                dropped = self.dropped - self._dropped_at_full
                self.say(f"spool {self.path}: room again ({dropped} alerts dropped while full)")

    def release(self, taken: Taken) -> None:
        """The rest of `taken` was not delivered (the thread stops): taken again next time."""
        with self._lock:
            self._inflight, self._inflight_end = 0, 0

    def _release_tail(self) -> None:
        """Delete the oldest segments while they are committed to their end."""
        while len(self._segments) > 1 and self._acked_offset >= self._segments[0].size:
            self._bytes -= self._segments[0].size
            self._unlink(self._segments.pop(0))
            self._acked_offset = self._acked_records = 0

    # --- closing ---

    def close(self) -> None:
        self.sync()
        with self._lock:
            self._closed = True
            self._ready.notify_all()
            self._close_fds()

    def _close_fds(self) -> None:
        for fd in self._fds.values():
            with suppress(OSError):
                os.close(fd)
        self._fds.clear()
        with suppress(OSError):
            os.close(self._dir)
