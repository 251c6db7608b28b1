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
    newline. For sources whose reads cut lines anywhere (pipes, sockets)."""

    __slots__ = ("_lineno", "_rest", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._rest = b""
        self._lineno = 1

    def push(self, data: bytes) -> Batch | None:
        raw, self._rest = split_lines(self._rest + data)
        return self._batch(raw)

    def finish(self) -> Batch | None:
        """End of input: an unfinished last line counts as a line."""
        rest, self._rest = self._rest, b""
        return self._batch([rest + b"\n"] if rest else [])

    def drop(self) -> None:
        """Forget an unfinished line (its connection is gone)."""
        self._rest = b""

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
