"""The spool's folders and files, opened so that no one else's symlink, hard link or FIFO
decides where alerts are kept (as detect.outputs.safe_open does for output files): folders
0700 and files 0600, opened relative to a handle on their folder, never through a symlink
(`O_NOFOLLOW`), used only when they are ours. Also where spools live by default and how an
output's folder is named."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path
from urllib.parse import urlsplit

from detect.core.errors import DetectError
from detect.outputs.safe_open import not_our_file

DIR_MODE = 0o700
FILE_MODE = 0o600
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class SpoolError(DetectError):
    """A spool folder or file that cannot be used safely."""


def spool_name(kind: str, url: str) -> str:
    """A folder name for an output: its kind, host and port (safe characters only) and a hash
    of the whole address (so two outputs never share a spool, and no secret in a URL's path or
    query ends up in a file name)."""
    parts = urlsplit(url)
    where = parts.hostname or parts.path or "local"
    if parts.port:
        where = f"{where}-{parts.port}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{kind}-{parts.scheme}-{where}").strip("._")[:80]
    digest = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{safe}-{digest}"


def default_spool(checkpoint: Path | None, euid: int, environ: dict[str, str]) -> Path:
    """Where `detect stream` keeps its spools unless told: beside its checkpoint, else
    /var/lib/detect/spool for root, else $XDG_STATE_HOME/detect/spool (~/.local/state)."""
    if checkpoint is not None:
        return checkpoint.parent / "spool"
    if euid == 0:
        return Path("/var/lib/detect/spool")
    state = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME", "~")) / ".local/state")
    return Path(state).expanduser() / "detect" / "spool"


def open_root(path: Path) -> int:
    """A handle on the spool folder, created 0700 (parents too) when missing; refused when it
    is a symlink, not a folder, not ours, or writable by others."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, DIR_FLAGS)
    except OSError as error:
        raise SpoolError(f"{path}: {why(error)}") from None
    _checked_folder(fd, path, tighten=False)
    return fd


def open_subfolder(root: int, root_path: Path, name: str) -> int:
    """A handle on our own folder `name` in the spool folder (created 0700, kept 0700)."""
    path = root_path / name
    try:
        os.mkdir(name, DIR_MODE, dir_fd=root)
    except FileExistsError:
        pass
    except OSError as error:
        raise SpoolError(f"{path}: {why(error)}") from None
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=root)
    except OSError as error:
        raise SpoolError(f"{path}: {why(error)}") from None
    _checked_folder(fd, path, tighten=True)
    return fd


def _checked_folder(fd: int, path: Path, *, tighten: bool) -> None:
    info = os.fstat(fd)
    problem = None
    if info.st_uid != os.geteuid():
        problem = f"owned by uid {info.st_uid}, not by us"
    elif info.st_mode & 0o022 and not tighten:
        problem = "writable by others"
    if problem is not None:
        os.close(fd)
        raise SpoolError(f"{path}: {problem}: not used as a spool")
    if tighten and stat.S_IMODE(info.st_mode) != DIR_MODE:
        os.fchmod(fd, DIR_MODE)


def why(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return "is a symlink or not a folder: not used as a spool"
    return error.strerror or str(error)


def check_file(fd: int, path: Path) -> None:
    problem = not_our_file(fd)
    if problem is not None:
        raise SpoolError(f"{path}: {problem}: not used")
