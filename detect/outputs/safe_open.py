"""Opening output files so that no one else's symlink, hard link or FIFO decides what we write.

A collector runs as root, and its output folder may be writable by others (or by the user it
drops to). The file is opened relative to a handle on its folder (`openat`), never through a
symlink (`O_NOFOLLOW`), without blocking on a FIFO, and only kept when it is a regular file
with one link that belongs to us; a new file gets `mode` (0600: alerts hold full command lines
and raw records). Truncation (a restart dropping alerts written after its checkpoint) goes
through the same checked descriptor.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TextIO

from detect.core.errors import DetectError

FILE_MODE = 0o600
OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class OutputError(DetectError):
    """An output path that is not safe to write (or cannot be opened)."""


def open_output(
    path: Path, *, append: bool = True, mode: int = FILE_MODE, keep: int | None = None
) -> TextIO:
    """`path` opened for text (UTF-8, surrogate escapes kept) at its end (`append`) or emptied;
    `keep` cuts an appended file to that many bytes first (ignored when it is not shorter)."""
    fd = open_fd(path, mode=mode)
    try:
        if not append:
            os.ftruncate(fd, 0)
        elif keep is not None and 0 <= keep < os.fstat(fd).st_size:
            os.ftruncate(fd, keep)
        os.lseek(fd, 0, os.SEEK_END)
        return open(fd, "a", encoding="utf-8", errors="surrogateescape", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def open_fd(path: Path, *, mode: int = FILE_MODE) -> int:
    """A write-only, appending descriptor on `path` after the checks above; OutputError."""
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise OutputError(f"{path.parent}: {error.strerror or error}") from None
    try:
        fd = os.open(path.name, OPEN_FLAGS | os.O_APPEND, mode, dir_fd=folder)
    except OSError as error:
        raise OutputError(f"{path}: {_why(error)}") from None
    finally:
        os.close(folder)
    try:
        _check(fd, path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _why(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENXIO):  # a symlink; a FIFO without reader
        return "is a symlink or a FIFO: not written"
    return error.strerror or str(error)


def not_our_file(fd: int) -> str | None:
    """Why the open file `fd` is not ours alone to write (not a regular file, more than one
    link, another owner); None when it is."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_nlink != 1:
        return f"has {info.st_nlink} hard links"
    if info.st_uid != os.geteuid():
        return f"owned by uid {info.st_uid}, not by us"
    return None


def _check(fd: int, path: Path) -> None:
    problem = not_our_file(fd)
    if problem is not None:
        raise OutputError(f"{path}: {problem}: not written")
