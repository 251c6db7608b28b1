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

Authenticated: whoever can edit the checkpoint decides where a restart resumes, which events it
skips and at what size it cuts the alert file. A collector started as root and dropped to a user
(`--user`) writes its checkpoints as that user, so that user could edit them. Each checkpoint
therefore carries an HMAC-SHA256 (`mac`) under a key kept beside it (`NAME.key`), created on
first use by the user that starts the stream (root), 0600, and read only before privileges are
dropped; a checkpoint that does not verify is refused with an error, before anything is opened
for writing (nothing is truncated), and so is a key file that is not ours alone. What no key can
stop: a user who may delete files in the checkpoint's folder deleting the checkpoint (the stream
then starts afresh, as on its first run) or putting back an older one of its own (a restart
from there repeats alerts, as the checkpoint's recorded size says: nothing lost).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import secrets
import stat
from contextlib import suppress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from detect.core.errors import DetectError
from detect.sources.live import FileMark

VERSION = 1
DIGEST_SIZE = 16
KEY_SUFFIX = ".key"
KEY_BYTES = 32
MAX_CHECKPOINT_BYTES = 64 << 20  # the `done` keys of a busy log stay far below
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


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
    key: bytes | None = field(default=None, init=False, repr=False, compare=False)  # signs

    @classmethod
    def at(
        cls,
        position: Position,
        done: list[str],
        output_size: int | None = None,
        key: bytes | None = None,
    ) -> Checkpoint:
        mark = position.mark
        anchor = position.anchor.encode("utf-8", "surrogateescape")
        out = cls(
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
        out.key = key
        return out

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's fields, with its `mac` when it has a key."""
        out = {item.name: getattr(self, item.name) for item in fields(self) if item.init}
        out["done"] = list(self.done)
        if self.key is not None:
            out["mac"] = mac(self.key, out)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str, key: bytes | None = None) -> Checkpoint:
        """The checkpoint `data` holds; with `key`, only if its `mac` verifies under it."""
        data = dict(data)
        signature = data.pop("mac", None)
        if key is not None and not (
            isinstance(signature, str)
            and signature.isascii()
            and hmac.compare_digest(signature, mac(key, data))
        ):
            raise CheckpointError(
                f"{where}: does not verify under its key ({where}{KEY_SUFFIX}): edited, or not"
                " written by this collector; refused (remove it to start afresh)"
            )
        try:
            if data.get("version") != VERSION:
                raise CheckpointError(f"{where}: unknown checkpoint version {data.get('version')}")
            out = cls(**data)
        except TypeError as error:
            raise CheckpointError(f"{where}: not a checkpoint: {error}") from None
        ints = (out.device, out.inode, out.offset, out.lineno, out.anchor_len)
        if not all(isinstance(n, int) and n >= 0 for n in ints) or out.anchor_len > out.offset:
            raise CheckpointError(f"{where}: bad offsets in checkpoint")
        out.key = key
        return out

    def write(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_dict(), sort_keys=True).encode() + b"\n")

    @classmethod
    def load(cls, path: Path, key: bytes | None = None) -> Checkpoint | None:
        """The checkpoint at `path`, or None when there is none yet; with `key`, only one
        whose `mac` verifies (see `open_checkpoint`). Never through a symlink."""
        try:
            raw = _read_small(path, MAX_CHECKPOINT_BYTES)
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{path}: not JSON: {error}") from None
        if not isinstance(data, dict):
            raise CheckpointError(f"{path}: not a checkpoint object")
        return cls.from_dict(data, str(path), key)


def mac(key: bytes, data: dict[str, Any]) -> str:
    """HMAC-SHA256 of a checkpoint's fields (`mac` left out), as canonical JSON."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def key_path(path: Path) -> Path:
    return path.with_name(path.name + KEY_SUFFIX)


def open_checkpoint(path: Path) -> tuple[Checkpoint | None, bytes]:
    """The checkpoint at `path`, verified, and its key (created on first use). Called by the
    user that starts the stream, before it drops privileges: the key file stays that user's
    alone (0600), the dropped user never reads it. A key without a checkpoint is a start afresh
    (a first run that stopped before its first checkpoint). CheckpointError: a checkpoint that
    does not verify or has no key, a key that is not ours alone."""
    where = key_path(path)
    try:
        key = read_key(where)
    except FileNotFoundError:
        if _exists(path):
            raise CheckpointError(
                f"{path}: no key ({where}) to verify it with: refused (remove it to start afresh)"
            ) from None
        return None, create_key(where)
    return Checkpoint.load(path, key), key


def read_key(path: Path) -> bytes:
    """The key at `path` (FileNotFoundError when there is none); CheckpointError when it is
    not a regular file of ours alone, or does not hold a key."""
    text = _read_small(path, 4 * KEY_BYTES, private=True)
    try:
        key = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise CheckpointError(f"{path}: not a checkpoint key")
    return key


def create_key(path: Path) -> bytes:
    """A new random key at `path` (0600, created new: never through a planted file)."""
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot create the checkpoint key: {error}") from None
    try:
        os.write(fd, key.hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_folder(path)
    return key


def _exists(path: Path) -> bool:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def _read_small(path: Path, most: int, private: bool = False) -> bytes:
    """A regular file's bytes (at most `most`), never through a symlink or FIFO; `private`:
    only a file of ours alone (our uid, no group or other access, one link).
    FileNotFoundError when there is none; CheckpointError otherwise."""
    try:
        fd = os.open(path, READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as error:
        why = "a symlink: refused" if error.errno == errno.ELOOP else error.strerror or error
        raise CheckpointError(f"{path}: {why}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path}: not a regular file")
        if private and (info.st_uid != os.geteuid() or info.st_mode & 0o077 or info.st_nlink != 1):
            raise CheckpointError(
                f"{path}: must be ours alone (owner uid {os.geteuid()}, mode 0600, one link);"
                f" it is uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o},"
                f" {info.st_nlink} links: refused"
            )
        if info.st_size > most:
            raise CheckpointError(f"{path}: larger than {most} bytes: not a checkpoint")
        chunks: list[bytes] = []
        size = 0
        while size <= most and (chunk := os.read(fd, most + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > most:
            raise CheckpointError(f"{path}: larger than {most} bytes: not a checkpoint")
        return b"".join(chunks)
    except OSError as error:
        raise CheckpointError(f"{path}: {error.strerror or error}") from None
    finally:
        os.close(fd)


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
    _fsync_folder(path)


def _fsync_folder(path: Path) -> None:
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Progress:
    """Follows which events each line belongs to, to say where a checkpoint may be taken.

    `line(key, position)` before a line is pushed (key `node|stamp|serial`, or None for a line
    that is not a record); `completed(key)` when its event is emitted; `unheld(key)` when, after
    the push, reassembly holds no event of that key (the record was dropped: a lone or late
    EOE). `skip(key)` says whether a line belongs to an event completed before the restart.
    Checkpoints are signed with `key` (see `open_checkpoint`).
    """

    def __init__(self, skip: list[str] | None = None, key: bytes | None = None) -> None:
        self.key = key
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

    def unheld(self, key: str) -> None:
        """No event of `key` is in flight: it is not open (it never was, or it completed)."""
        self._open.pop(key, None)

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
        return Checkpoint.at(safe, [*unseen, *self._done], output_size, self.key)


def _before(a: Position, b: Position) -> bool:
    """In reading order: an earlier file (as this run opened them) or an earlier offset."""
    return (a.seq, a.offset) < (b.seq, b.offset)
