"""A cache of what rule files parse to as YAML, keyed by their content.

Parsing YAML is a fifth of the time of loading a rule (about 0.5 ms a file in Python; PyYAML
builds its objects in Python even with libyaml). A file that parsed without error is stored as
JSON under the SHA-256 of its text and of what the parse depends on (`FORMAT`, the versions of
detect and PyYAML, the source of the parsing modules), in `$XDG_CACHE_HOME/detect/yaml` (or
`~/.cache/detect/yaml`); reading it back costs a tenth. Only data JSON gives back exactly is
stored (string keys; strings, numbers, booleans, null, lists, mappings; dates and times are
recorded apart and restored): a file holding anything else is parsed every time. A file with a
YAML error is never stored, so its error is reported as it always is.

Rule files are untrusted, the cache is not trusted either: the folder is made 0700, and one
not owned by the user or writable by others is not used; an entry that does not read back (cut
short, another format, not the file it claims to be) is ignored and written again. A cache
that cannot be written costs nothing but the time it would have saved: it is left alone for
the rest of the process. `DETECT_NO_CACHE=1` turns it off. `Store` keeps the entries of this
cache and of the cache of compiled rules (compiled.py): files written whole, 0600 in 0700
folders, pruned of entries not used for 30 days and down to 256 MB once a day, and at most once
an hour by a run that writes entries.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, Final

import yaml

from detect.sigma.documents import Document, YamlProblem, read_documents

FORMAT: Final = 1  # bump when what an entry holds changes
OFF_ENV: Final = "DETECT_NO_CACHE"
FOLDER: Final = "yaml"
PARSING_MODULES: Final = ("documents.py", "cache.py")  # beside this one: their source is keyed
SCALARS: Final = (str, int, float, bool)
DATES: Final = {"date": datetime.date, "datetime": datetime.datetime}
DAY_SECONDS: Final = 24 * 3600
# a folder a run writes to is pruned at most this often: edited rules, new rule sets and new
# versions of detect each write new entries, and between daily prunes a busy machine (a rule
# author's, a benchmark's) wrote hundreds of megabytes
WRITING_PRUNE_SECONDS: Final = 3600
UNUSED_DAYS: Final = 30  # an entry not used for this long is removed
MAX_BYTES: Final = 256 * 1024 * 1024  # past this, the least recently used entries go
PRUNED_STAMP: Final = ".pruned"  # `.pruned-<folder>` beside a folder: its last pruning
READ_BLOCK: Final = 1 << 16  # what a file grown since its fstat is read on by


def cache_root() -> Path | None:
    """`$XDG_CACHE_HOME/detect`, else `~/.cache/detect`; None without a home."""
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "detect"
    try:
        return Path.home() / ".cache" / "detect"
    except RuntimeError:
        return None


class Store:
    """Entries by key in `folder` (None: nothing stored): files of text, written whole (a
    temporary file renamed), 0600 in a 0700 folder, and pruned (`prune`): an entry not used for
    `UNUSED_DAYS` days goes, then the least recently used while the folder holds more than
    `MAX_BYTES`: once a day, and at most once an hour by a run that writes. A hit marks its
    entry used (its time, at most once a day)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._usable: bool | None = None  # checked on first use
        self._writing = False  # whether this process wrote an entry yet

    def ready(self) -> bool:
        if self._usable is None:
            self._usable = self.folder is not None and _private_folder(self.folder)
            if self._usable:
                self._prune_after(DAY_SECONDS)
        return self._usable

    def path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{key}.json"

    def read(self, key: str) -> bytes | None:
        assert self.folder is not None
        path = f"{self.folder}/{key}.json"  # not self.path(): a Path costs more than the read
        try:
            raw, info = read_whole(path)
        except OSError:
            return None
        if raw is not None:
            self._used(key, info)
        return raw

    def open(self, key: str) -> tuple[BinaryIO, bool] | None:
        """An entry to read line by line (None: not stored, unreadable), and whether opening
        it marked it used (at most once a day: `mark` the entries it stands for then)."""
        assert self.folder is not None
        try:
            handle = open(f"{self.folder}/{key}.json", "rb")  # noqa: SIM115 - the caller's
        except OSError:
            return None
        try:
            info = os.fstat(handle.fileno())
        except OSError:
            handle.close()
            return None
        return handle, self._used(key, info)

    def _used(self, key: str, info: os.stat_result) -> bool:
        """Mark an entry read used, unless it was in the last day; whether it was marked."""
        if time.time() - info.st_mtime <= DAY_SECONDS:
            return False
        self.mark([key])  # in use: not pruned
        return True

    def mark(self, keys: Iterable[str]) -> None:
        """Mark entries used (their time: not pruned); those not stored are passed over."""
        for key in keys:
            with contextlib.suppress(OSError):
                os.utime(f"{self.folder}/{key}.json")

    def write(self, key: str, entry: str | bytes) -> None:
        assert self.folder is not None
        if not self._writing:
            self._writing = True
            self._prune_after(WRITING_PRUNE_SECONDS)
        try:
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".partial")  # 0600
        except OSError:
            self._usable = False  # read-only home: stop trying
            return
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(entry if isinstance(entry, bytes) else entry.encode())
            os.replace(temporary, self.path(key))
        except OSError:
            self._usable = False  # full disk: stop trying
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def _prune_after(self, seconds: float) -> None:
        """Prune the folder unless it was pruned less than `seconds` ago."""
        assert self.folder is not None
        stamp = self.folder.parent / f"{PRUNED_STAMP}-{self.folder.name}"
        try:
            if time.time() - stamp.stat().st_mtime < seconds:
                return
        except OSError:
            pass
        prune(self.folder)
        with contextlib.suppress(OSError):
            stamp.touch(mode=0o600)
            os.utime(stamp)


def read_whole(path: str | Path, most: int | None = None) -> tuple[bytes | None, os.stat_result]:
    """A file's bytes and status, from one opening: open, fstat, read to the end, close
    (Python's buffered `open()` makes about ten system calls of it, and a load of rules from the
    cache of compiled rules reads two files a rule). None for the bytes of a file larger than
    `most`, which is not read. Raises OSError."""
    handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        info = os.fstat(handle)
        if most is not None and info.st_size > most:
            return None, info
        chunks = [os.read(handle, info.st_size + 1)]
        while chunks[-1]:
            chunks.append(os.read(handle, READ_BLOCK))
        return b"".join(chunks), info
    finally:
        os.close(handle)


def prune(folder: Path, now: float | None = None, max_bytes: int | None = None) -> int:
    """Remove the entries of `folder` not used for UNUSED_DAYS days, then the least recently
    used while the rest take more than `max_bytes` (MAX_BYTES) on disk; left-over temporary
    files of an hour ago go too. How many files were removed."""
    now = time.time() if now is None else now
    limit = MAX_BYTES if max_bytes is None else max_bytes
    entries: list[tuple[float, int, Path]] = []
    removed = 0
    try:
        listing = list(os.scandir(folder))
    except OSError:
        return 0
    for item in listing:
        try:
            info = item.stat(follow_symlinks=False)
        except OSError:
            continue
        name = item.name
        stale = name.endswith(".json") and now - info.st_mtime > UNUSED_DAYS * DAY_SECONDS
        stale = stale or (name.endswith(".partial") and now - info.st_mtime > 3600)
        if stale:
            removed += _remove(Path(item.path))
        elif name.endswith(".json"):
            entries.append((info.st_mtime, disk_bytes(info), Path(item.path)))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        removed += _remove(path)
        total -= size
    return removed


def disk_bytes(info: os.stat_result) -> int:
    """What a file takes on disk: its blocks where the system says (an entry of 2 KB takes a
    4 KB block: the bound is on the disk a folder takes), else its size."""
    blocks = getattr(info, "st_blocks", None)
    return info.st_size if blocks is None else blocks * 512


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1


class ParseCache:
    """Parsed rule files by content, in `folder` (None: no cache, every file is parsed)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.store = Store(folder)

    def documents(self, text: str) -> tuple[list[Document], YamlProblem | None]:
        """`read_documents(text)`, from the cache when the file was parsed before."""
        if not self.store.ready():
            return read_documents(text)
        key = entry_key(text)
        found = self._read(key, text)
        if found is not None:
            return found, None
        documents, problem = read_documents(text)
        if problem is None:
            entry = encode_entry(key, documents)
            if entry is not None:
                self.store.write(key, entry)
        return documents, problem

    def _read(self, key: str, text: str) -> list[Document] | None:
        raw = self.store.read(key)
        if raw is None:
            return None
        try:
            return decode_entry(key, json.loads(raw), text)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None  # corrupt: parsed again and written over


def _private_folder(folder: Path) -> bool:
    """Make `folder` and its parent, detect's cache folder, (0700) if needed; whether both
    are ours alone."""
    for path in (folder.parent, folder):
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = path.lstat()
        except OSError:
            return False
        mine = info.st_uid == os.getuid() and stat.S_ISDIR(info.st_mode)
        if not mine or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def entry_key(text: str) -> str:
    """The SHA-256 of the file's text and of everything its parse depends on."""
    return salted_key(_salt(), text)


def salted_key(salt: bytes, text: str) -> str:
    """The SHA-256 of `salt` (what an entry depends on besides the text) and `text`."""
    digest = hashlib.sha256(salt)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def salt_of(parts: list[str], packages: Iterable[str], sources: Iterable[Path]) -> bytes:
    """`parts`, the installed versions of `packages` and the SHA-256 of each of `sources` (a
    source checkout changes without a version), as one salt."""
    salt = list(parts)
    for name in packages:
        try:
            salt.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            salt.append("unknown")
    for source in sources:
        try:
            salt.append(hashlib.sha256(source.read_bytes()).hexdigest())
        except OSError:
            salt.append("?")
    return "\0".join(salt).encode() + b"\0"


@cache
def _salt() -> bytes:
    """What an entry depends on besides the text: the format, detect's and PyYAML's versions,
    and the source of the modules that parse."""
    here = Path(__file__)
    sources = [here.with_name(name) for name in PARSING_MODULES]
    return salt_of([str(FORMAT), yaml.__version__], ["detect"], sources)


# --- entries ------------------------------------------------------------------------------


def encode_entry(key: str, documents: list[Document]) -> str | None:
    """The JSON entry of a file's documents; None when JSON cannot give their data back."""
    items = []
    for document in documents:
        dates: list[list[Any]] = []
        if not exact(document.data, [], dates):
            return None
        data = json.dumps(document.data, default=_no_date, allow_nan=True)
        items.append({"line": document.line, "data": data, "dates": dates})
    return json.dumps({"format": FORMAT, "key": key, "documents": items})


def _no_date(value: object) -> None:
    return None  # a date or time: recorded in `dates` and put back on reading


def exact(value: Any, path: list[Any], dates: list[list[Any]]) -> bool:
    """Whether JSON gives `value` back as it is; dates and times are noted in `dates`."""
    kind = type(value)
    if value is None or kind in SCALARS:
        return True
    if kind is list:
        return all(exact(item, [*path, at], dates) for at, item in enumerate(value))
    if kind is dict:
        return all(
            type(name) is str and exact(item, [*path, name], dates) for name, item in value.items()
        )
    for name, date_type in DATES.items():
        if kind is date_type:
            dates.append([path, name, value.isoformat()])
            return True
    return False


def decode_entry(key: str, entry: Any, text: str) -> list[Document]:
    """The documents of an entry (raises ValueError and co. on any entry not as written)."""
    if entry["format"] != FORMAT or entry["key"] != key:
        raise ValueError("another entry")
    documents = []
    for index, item in enumerate(entry["documents"]):
        line = item["line"]
        if type(line) is not int:
            raise ValueError("bad line")
        data = json.loads(item["data"])
        for path, name, iso in item["dates"]:
            data = _put(data, path, DATES[name].fromisoformat(iso))
        documents.append(Document(data, None, line, text, index))
    return documents


def _put(data: Any, path: list[Any], value: Any) -> Any:
    if not path:
        return value
    container = data
    for step in path[:-1]:
        container = container[step]
    if not isinstance(container, list | dict):
        raise ValueError("bad date path")
    container[path[-1]] = value
    return data


@cache
def default_cache() -> ParseCache:
    """The process's cache of parsed rule files (made on first use: nothing at import)."""
    if os.environ.get(OFF_ENV) == "1":
        return ParseCache(None)
    root = cache_root()
    return ParseCache(None if root is None else root / FOLDER)
