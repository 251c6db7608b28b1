"""What every live source hands the stream: batches of lines, and for files where they lie.

A live source is a small object with `open()` (the privileged part: before dropping
privileges), `read()` (the next batch, or None when nothing came within its poll interval),
`close()`, a `name`, `done` (the input has ended: stdin closed) and `blocking` (True when a
full queue may hold the reader back; False for netlink, whose kernel buffer overflows instead,
so a full queue drops and counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from detect.core.defaults import MAX_LINE


@dataclass(frozen=True, slots=True)
class FileMark:
    """One opened file: the path it was opened by, and its identity."""

    path: str
    device: int
    inode: int


@dataclass(slots=True)
class Batch:
    """Lines read at once. `offsets` (follow only) are the byte offsets where each line starts
    in `mark`'s file; `end` is the offset after the last line."""

    lines: list[str]
    source: str
    first_lineno: int = 1
    mark: FileMark | None = None
    offsets: list[int] = field(default_factory=list)
    end: int = 0
    anchor: str = ""  # the line that ends at the first offset
    seq: int = 0  # files in the order the source opened them


class LiveSource(Protocol):
    name: str
    blocking: bool

    @property
    def done(self) -> bool: ...

    def open(self) -> None: ...

    def read(self) -> Batch | None: ...

    def close(self) -> None: ...


class LineBatcher:
    """Bytes in, batches of whole lines out (numbered from 1); an unfinished line waits for its
    newline. For sources whose reads cut lines anywhere (pipes, sockets).

    The pieces of an unfinished line are kept in a list and joined once, when its newline
    comes (never re-joined on every read), and no more than `max_line` + 1 bytes of it: a longer
    line is handed on as that prefix (the parser refuses it, counted) and the rest dropped.
    (A whole line inside one read is handed on as it is: the read bounds it.)"""

    __slots__ = ("_keep_at_most", "_lineno", "_parts", "_size", "name")

    def __init__(self, name: str, max_line: int = MAX_LINE) -> None:
        self.name = name
        self._keep_at_most = max_line + 1  # `--max-line-bytes`, and one more to refuse it
        self._parts: list[bytes] = []
        self._size = 0  # bytes in _parts
        self._lineno = 1

    def push(self, data: bytes) -> Batch | None:
        cut = data.rfind(b"\n") + 1
        if not cut:
            self._keep(data)
            return None
        head = data[:cut]
        if self._parts:
            first = head.find(b"\n")
            self._keep(head[:first])
            head = b"".join(self._parts) + head[first:]
            self._parts, self._size = [], 0
        raw, _ = split_lines(head)
        self._keep(data[cut:])
        return self._batch(raw)

    def _keep(self, piece: bytes) -> None:
        room = self._keep_at_most - self._size
        if piece and room > 0:
            piece = piece[:room]
            self._parts.append(piece)
            self._size += len(piece)

    def finish(self) -> Batch | None:
        """End of input: an unfinished last line counts as a line."""
        rest = b"".join(self._parts)
        self._parts, self._size = [], 0
        return self._batch([rest + b"\n"] if rest else [])

    def drop(self) -> None:
        """Forget an unfinished line (its connection is gone)."""
        self._parts, self._size = [], 0

    def _batch(self, raw: list[bytes]) -> Batch | None:
        if not raw:
            return None
        batch = Batch([decode(line) for line in raw], self.name, self._lineno)
        self._lineno += len(raw)
        return batch


def split_lines(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Whole lines (with their newline) and the unfinished rest."""
    cut = buffer.rfind(b"\n") + 1
    if not cut:
        return [], buffer
    return [part + b"\n" for part in buffer[: cut - 1].split(b"\n")], buffer[cut:]


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
