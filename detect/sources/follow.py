"""`--follow PATH`: tail a log across rotation (rename) and truncation (copytruncate).

Polls: at the end of the file it looks whether the path now names another file (rotated: the
old one is read to its end first, then the new one from its start). Before every read it checks
that the file still holds what was read (truncated, copytruncate: read again from the start):
its size is not below the offset, and the line that ends at the offset (the anchor) is still
there, byte for byte; so a file emptied and written past the old offset between two polls is
seen too, whatever the timing. A line is handed on only once its newline is there.
Resuming from a checkpoint finds the file by device and inode, under its name or a rotated
sibling (`audit.log.1`…), and checks the line that ends at the offset; when nothing matches it
starts at the beginning of PATH (nothing lost; `warnings` says so).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from detect.core.defaults import MAX_LINE
from detect.core.errors import DetectError
from detect.sources.checkpoint import Checkpoint, Position, digest
from detect.sources.live import Batch, FileMark, decode, split_lines

READ_SIZE = 1 << 20
POLL_S = 0.05


class FollowError(DetectError):
    """The followed file cannot be opened."""


def mark_of(path: str, file: BinaryIO) -> FileMark:
    st = os.fstat(file.fileno())
    return FileMark(path, st.st_dev, st.st_ino)


def rotated_siblings(path: str) -> list[str]:
    """`audit.log.1`, `audit.log.2`…: where a rotated file may be now, newest first."""
    base = Path(path)
    found = [
        p for p in base.parent.glob(base.name + ".*") if p.name[len(base.name) + 1 :].isdigit()
    ]
    return [str(p) for p in sorted(found, key=lambda p: int(p.name[len(base.name) + 1 :]))]


class Follower:
    blocking = True

    def __init__(
        self,
        path: str,
        *,
        resume: Checkpoint | None = None,
        from_beginning: bool = False,
        poll_s: float = POLL_S,
        sleep: Callable[[float], None] = time.sleep,
        max_line: int = MAX_LINE,
    ) -> None:
        self.path = self.name = path
        self.resume = resume
        self.from_beginning = from_beginning
        self.poll_s = poll_s
        self._sleep = sleep
        self.warnings: list[str] = []
        self.rotations = 0
        self.truncations = 0
        self._file: BinaryIO | None = None
        self._mark: FileMark | None = None
        self._seq = -1
        self._pos = 0  # offset after the last line handed on
        self._keep_at_most = max_line + 1  # `--max-line-bytes`, and one more to refuse it
        self._held: list[bytes] = []  # the unfinished line's pieces (at most _keep_at_most bytes)
        self._held_size = 0  # its real length
        self._held_kept = 0  # bytes in _held
        self._lineno = 0  # 0: unknown (started at the end of a file)
        self._anchor = ""

    @property
    def done(self) -> bool:
        return False

    def open(self) -> None:
        if self.resume is not None and self._open_resume(self.resume):
            return
        if self.resume is not None:
            self.warnings.append(
                f"{self.path}: checkpoint's file ({self.resume.path}, inode {self.resume.inode})"
                " not found or changed; reading from the start"
            )
        self._open_path(self.path, at_end=not (self.from_beginning or self.resume))

    def _open_path(self, path: str, *, at_end: bool = False) -> None:
        try:
            file = open(path, "rb")  # noqa: SIM115 - kept open while following
        except OSError as error:
            raise FollowError(f"{path}: {error}") from None
        self._use(file, path, file.seek(0, os.SEEK_END) if at_end else 0, 0 if at_end else 1)

    def _use(self, file: BinaryIO, path: str, offset: int, lineno: int, anchor: str = "") -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._mark = file, mark_of(path, file)
        self._seq += 1
        self._pos, self._lineno, self._anchor = offset, lineno, anchor
        self._drop_held()

    def _open_resume(self, point: Checkpoint) -> bool:
        for path in [self.path, *rotated_siblings(self.path)]:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (point.device, point.inode):
                return self._try_resume(path, point)
        return False

    def _try_resume(self, path: str, point: Checkpoint) -> bool:
        file = open(path, "rb")  # noqa: SIM115 - kept open while following
        file.seek(point.offset - point.anchor_len)
        anchor = file.read(point.anchor_len)
        if len(anchor) != point.anchor_len or digest(anchor) != point.anchor:
            file.close()
            return False
        self._use(file, path, point.offset, point.lineno, decode(anchor))
        return True

    def position(self) -> Position:
        """Where the next line will be read from (the first checkpoint, before any line)."""
        assert self._mark is not None
        return Position(self._mark, self._pos, self._lineno, self._anchor, self._seq)

    def read(self) -> Batch | None:
        """Lines appended since the last call; None when none (after a poll interval when
        nothing at all came). Reads at most READ_SIZE at a time, a rotated file too."""
        if self._truncated():
            return None
        assert self._file is not None
        data = self._file.read(READ_SIZE)
        if data:
            return self._take(data)
        if self._rotated():
            return self._switch()
        self._sleep(self.poll_s)
        return None

    def _take(self, data: bytes) -> Batch | None:
        """The whole lines of what was held and `data`; the unfinished end is held. An
        unfinished line is kept in pieces (never joined again on each read), and only its
        first `max_line` + 1 bytes: a longer line goes on as that prefix, which the parser
        refuses (counted), while offsets count its real length."""
        cut = data.rfind(b"\n") + 1
        if not cut:
            self._hold(data)
            return None
        head, first_size = data[:cut], 0
        if self._held_size:
            first = head.find(b"\n")
            first_size = self._held_size + first + 1
            self._hold(head[:first])
            head = b"".join(self._held) + head[first:]
        raw, _ = split_lines(head)
        self._drop_held()
        self._hold(data[cut:])
        return self._batch(raw, first_size)

    def _hold(self, piece: bytes) -> None:
        self._held_size += len(piece)
        room = self._keep_at_most - self._held_kept
        if piece and room > 0:
            self._held.append(piece[:room])
            self._held_kept += min(room, len(piece))

    def _drop_held(self) -> None:
        self._held, self._held_size, self._held_kept = [], 0, 0

    def _batch(self, raw: list[bytes], first_size: int = 0) -> Batch:
        """`raw` lines from the offset; the first is `first_size` bytes long in the file
        when it was cut (0: as long as it is)."""
        assert self._mark is not None
        offsets, at = [], self._pos
        for line in raw:
            offsets.append(at)
            at += first_size or len(line)
            first_size = 0
        lines = [decode(line) for line in raw]
        batch = Batch(lines, self._mark.path, self._lineno, self._mark, offsets, at)
        batch.anchor, batch.seq = self._anchor, self._seq
        last = raw[-1]
        whole = at - offsets[-1] == len(last)  # a cut line cannot be checked byte for byte
        self._pos, self._anchor = at, lines[-1] if whole else ""
        if self._lineno:
            self._lineno += len(lines)
        return batch

    def _truncated(self) -> bool:
        assert self._file is not None
        fd = self._file.fileno()
        if os.fstat(fd).st_size >= self._pos + self._held_size and self._anchor_intact(fd):
            return False
        self.truncations += 1
        self._file.seek(0)
        self._pos, self._lineno, self._anchor = 0, 1, ""
        self._drop_held()
        self._seq += 1
        return True

    def _anchor_intact(self, fd: int) -> bool:
        """The line that ends at the offset is still there (one small read)."""
        anchor = self._anchor.encode("utf-8", "surrogateescape")
        if not anchor:
            return True
        return os.pread(fd, len(anchor), self._pos - len(anchor)) == anchor

    def _rotated(self) -> bool:
        assert self._mark is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False  # moved away, the new one not there yet: keep reading the old one
        return (st.st_dev, st.st_ino) != (self._mark.device, self._mark.inode)

    def _switch(self) -> Batch | None:
        """The old file is read to its end (`read`): a line cut short there counts as whole;
        then PATH is opened."""
        size = self._held_size
        batch = self._batch([b"".join(self._held)], size) if size else None
        self.rotations += 1
        self._open_path(self.path)
        return batch

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
