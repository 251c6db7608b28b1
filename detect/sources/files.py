"""Files to read: plain or compressed (.gz, .bz2, .xz, .zst, found by magic bytes: CODECS),
rotation sets (`audit.log.N` … `audit.log`, oldest first), folders, globs, and stdin (`-`),
compressed or not. Their lines: `lines.py` (`iter_lines`, `read_lines`)."""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import zstandard

STDIN = "-"
READ_SIZE = 1 << 16
COMPRESSED_SUFFIX = re.compile(r"\.(gz|bz2|xz|zst|zstd)$")
ROTATION_SUFFIX = re.compile(r"^(?P<base>.*?)(?:\.(?P<n>\d+)|-(?P<date>\d{8,10}))?$")
SIDE_SUFFIXES = frozenset((".md", ".json", ".yml", ".yaml", ".rules", ".sh", ".py"))
Line = tuple[str, str, int]  # (text, source, 1-based line number)
# What reading a file may raise: unreadable, or a truncated or corrupt archive
READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


@dataclass
class SourceStats:
    files: int = 0
    errors: list[str] = field(default_factory=list)


def is_side_file(path: Path) -> bool:
    """In a folder, notes and metadata beside the logs are not read (named files always are)."""
    return path.name.startswith(".") or path.suffix.lower() in SIDE_SUFFIXES


def rotation_key(path: Path) -> tuple[str, int, int]:
    """Sort key: one base name together, oldest first: `-YYYYMMDD` stamps by date, then
    `.N` by falling N, then the live file."""
    name = COMPRESSED_SUFFIX.sub("", path.name)
    match = ROTATION_SUFFIX.match(name)
    assert match is not None
    base = str(path.parent / match.group("base"))
    if match.group("date"):
        return (base, 0, int(match.group("date")))
    if match.group("n"):
        return (base, 1, -int(match.group("n")))
    return (base, 2, 0)


def expand_inputs(inputs: Iterable[str], stats: SourceStats) -> list[str]:
    """Paths, folders and globs to an ordered list of files (`-` kept for stdin)."""
    out: list[str] = []
    for item in inputs:
        if item == STDIN:
            out.append(item)
            continue
        path = Path(item)
        matches = [path] if path.exists() else [Path(p) for p in glob.glob(item, recursive=True)]
        found = [file for match in matches for file in _files_of(match)]
        if not matches:
            stats.errors.append(f"{item}: no such file, folder or match")
        out.extend(str(p) for p in sorted(found, key=rotation_key))
    return out


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file() and not is_side_file(p)]
    return [path] if path.is_file() else []


class Decoder(Protocol):
    """An incremental decompressor of one stream (zlib, bz2, lzma and zstd objects are)."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Codec:
    """A compression found by its magic bytes: how to read a file of it, and how to decompress
    it piece by piece (standard input as it arrives)."""

    name: str
    magic: bytes
    reader: Callable[[BinaryIO], BinaryIO]
    decoder: Callable[[], Decoder]


def open_binary(path: str) -> BinaryIO:
    """A file's bytes, decompressed by what its first bytes say it is."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    return decompressed(raw)


def decompressed(raw: BinaryIO) -> BinaryIO:
    """`raw` (a buffered file or standard input), decompressed by its magic bytes."""
    head = raw.peek(HEAD)[:HEAD] if isinstance(raw, io.BufferedReader) else b""
    codec = codec_of(head)
    return raw if codec is None else codec.reader(raw)


def codec_of(head: bytes) -> Codec | None:
    """The codec whose magic `head` starts with (None: not compressed, or not known)."""
    return next((codec for codec in CODECS if head.startswith(codec.magic)), None)


class Inflater:
    """Decompresses a stream piece by piece: streams one after another (as `cat a.gz b.gz`
    gives), and a stream cut short is an error at the end, never silently empty."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self._decoder = codec.decoder()
        self._started = False

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._decoder.eof:
                self._decoder = self.codec.decoder()
            self._started = True
            out.append(self._decoder.decompress(data))
            data = self._decoder.unused_data if self._decoder.eof else b""
        return b"".join(out)

    def finish(self) -> None:
        if self._started and not self._decoder.eof:
            raise EOFError(f"{self.codec.name} input is truncated")


class InflatingReader(io.RawIOBase):
    """A file object over `raw`'s bytes decompressed by an `Inflater` (zstd files)."""

    def __init__(self, raw: BinaryIO, codec: Codec) -> None:
        self._raw = raw
        self._inflater = Inflater(codec)
        self._pending = b""  # decompressed, read up to _offset
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._pending):
            chunk = self._raw.read(READ_SIZE)
            if not chunk:
                self._inflater.finish()
                return 0
            self._pending = self._inflater.feed(chunk)
            self._offset = 0
        start = self._offset
        size = min(len(buffer), len(self._pending) - start)
        buffer[:size] = memoryview(self._pending)[start : start + size]
        self._offset = start + size
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


def _gzip_decoder() -> Decoder:
    return zlib.decompressobj(wbits=31)


def _zstd_decoder() -> Decoder:
    return zstandard.ZstdDecompressor().decompressobj()


def _gzip_file(raw: BinaryIO) -> BinaryIO:
    return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]


def _bzip2_file(raw: BinaryIO) -> BinaryIO:
    return bz2.BZ2File(raw)  # type: ignore[return-value]


def _xz_file(raw: BinaryIO) -> BinaryIO:
    return lzma.LZMAFile(raw)  # type: ignore[return-value]


def _zstd_file(raw: BinaryIO) -> BinaryIO:
    return io.BufferedReader(InflatingReader(raw, ZSTD))


# The compressions read, found by their magic bytes (files and standard input alike)
ZSTD = Codec("zstd", b"\x28\xb5\x2f\xfd", _zstd_file, _zstd_decoder)
CODECS = (
    Codec("gzip", b"\x1f\x8b", _gzip_file, _gzip_decoder),
    Codec("bzip2", b"BZh", _bzip2_file, bz2.BZ2Decompressor),
    Codec("xz", b"\xfd7zXZ\x00", _xz_file, lzma.LZMADecompressor),
    ZSTD,
)
HEAD = max(len(codec.magic) for codec in CODECS)
