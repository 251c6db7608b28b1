"""Checkpoints of `detect stream --follow`: where to resume so that a restart neither loses nor
repeats events.

Records of one event may sit on both sides of any byte offset, and events interleave. So the
checkpoint is taken at the first line of the oldest event still in flight (every line before it
belongs to events already completed and evaluated), together with the keys of the events after
that offset that are already completed: on restart their lines are skipped. The file is found
again by device and inode (in its rotated name, if it was rotated since) and checked by a hash
of the line that ends at the offset. The size of the alert file at the time is kept too, so a
restart can drop alerts written after the checkpoint (they are produced again).

Written atomically: a temporary file in the same folder, fsync, rename, fsync of the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from detect.core.errors import DetectError
from detect.sources.live import FileMark

VERSION = 1
DIGEST_SIZE = 16


class CheckpointError(DetectError):
    """A checkpoint file that cannot be read or does not say what a checkpoint says."""


def digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=DIGEST_SIZE).hexdigest()


@dataclass(frozen=True, slots=True)
class Position:
    """A line boundary in a followed file; `anchor` is the line that ends there ("" at 0)."""

    mark: FileMark
    offset: int
    lineno: int
    anchor: str = ""  # decoded with surrogateescape: encodes back to the file's bytes
    seq: int = 0  # files in the order this run opened them


@dataclass
class Checkpoint:
    path: str
    device: int
    inode: int
    offset: int
    lineno: int
    anchor_len: int
    anchor: str  # digest of the anchor line's bytes
    done: list[str] = field(default_factory=list)  # event keys completed after the offset
    output_size: int | None = None
    version: int = VERSION

    @classmethod
    def at(cls, position: Position, done: list[str], output_size: int | None = None) -> Checkpoint:
        mark = position.mark
        anchor = position.anchor.encode("utf-8", "surrogateescape")
        return cls(
            mark.path,
            mark.device,
            mark.inode,
            position.offset,
            position.lineno,
            len(anchor),
            digest(anchor),
            done,
            output_size,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Checkpoint:
        try:
            if data.get("version") != VERSION:
                raise CheckpointError(f"{where}: unknown checkpoint version {data.get('version')}")
            out = cls(**data)
        except TypeError as error:
            raise CheckpointError(f"{where}: not a checkpoint: {error}") from None
        ints = (out.device, out.inode, out.offset, out.lineno, out.anchor_len)
        if not all(isinstance(n, int) and n >= 0 for n in ints) or out.anchor_len > out.offset:
            raise CheckpointError(f"{where}: bad offsets in checkpoint")
        return out

    def write(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_dict(), sort_keys=True).encode() + b"\n")

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        """The checkpoint at `path`, or None when there is none yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise CheckpointError(f"{path}: {error}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CheckpointError(f"{path}: not JSON: {error}") from None
        if not isinstance(data, dict):
            raise CheckpointError(f"{path}: not a checkpoint object")
        return cls.from_dict(data, str(path))


def write_atomic(path: Path, data: bytes) -> None:
    """`data` as `path`'s new content (0600). The temporary file is created new (`O_EXCL`,
    `O_NOFOLLOW`): a symlink or file someone placed under its name is removed, never written
    through."""
    tmp = path.with_name(f".{path.name}.tmp")
    with suppress(FileNotFoundError):
        os.unlink(tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Progress:
    """Follows which events each line belongs to, to say where a checkpoint may be taken.

    `line(key, position)` before a line is pushed (key `node|stamp|serial`, or None for a line
    that is not a record); `completed(key)` when its event is emitted. `skip(key)` says whether
    a line belongs to an event completed before the restart.
    """

    def __init__(self, skip: list[str] | None = None) -> None:
        self._open: dict[str, Position] = {}  # in order of first line
        self._done: dict[str, Position] = {}
        self._skip = set(skip or ())
        self._seen_skipped: set[str] = set()
        self.end: Position | None = None
        self.skipped = 0

    def skip(self, key: str | None, position: Position) -> bool:
        if key is None or key not in self._skip:
            return False
        if key not in self._seen_skipped:
            self._seen_skipped.add(key)
            self._done[key] = position
        self.skipped += 1
        return True

    def line(self, key: str | None, position: Position) -> None:
        if key is not None and key not in self._open and key not in self._done:
            self._open[key] = position

    def advance(self, end: Position) -> None:
        """Every line before `end` has been pushed."""
        self.end = end

    def completed(self, key: str) -> None:
        position = self._open.pop(key, None)
        if position is not None:
            self._done[key] = position

    def safe(self) -> Position | None:
        """The first line of the oldest open event, else the end of what was read."""
        for position in self._open.values():
            return position
        return self.end

    def checkpoint(self, output_size: int | None = None) -> Checkpoint | None:
        safe = self.safe()
        if safe is None:
            return None
        self._done = {k: p for k, p in self._done.items() if not _before(p, safe)}
        unseen = sorted(self._skip - self._seen_skipped)  # still ahead: skip them next time too
        return Checkpoint.at(safe, [*unseen, *self._done], output_size)


def _before(a: Position, b: Position) -> bool:
    """In reading order: an earlier file (as this run opened them) or an earlier offset."""
    return (a.seq, a.offset) < (b.seq, b.offset)
