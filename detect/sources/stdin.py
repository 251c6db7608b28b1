"""`--stdin`: lines on standard input, as auditd's dispatcher hands them to a plugin
(`format = string`: one record per line) or as any pipe does. End of input ends the stream.
Compressed input (`zcat`-able: gzip, bzip2, xz, zstd, found by its magic bytes as files are,
detect.sources.files.CODECS) is decompressed as it arrives."""

from __future__ import annotations

import lzma
import os
import zlib

import zstandard

from detect.core.defaults import MAX_LINE
from detect.core.errors import DetectError
from detect.sources.files import HEAD, Inflater, codec_of
from detect.sources.live import Batch, LineBatcher

READ_SIZE = 1 << 20
STDIN_FD = 0
DECODE_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


class InputError(DetectError):
    """Standard input that cannot be read as it says it is (a truncated or corrupt archive)."""


class StdinSource:
    blocking = True  # a full queue holds the reader back; auditd queues (q_depth) meanwhile

    def __init__(self, fd: int = STDIN_FD, name: str = "<stdin>", max_line: int = MAX_LINE) -> None:
        self.fd = fd
        self.name = name
        self._lines = LineBatcher(name, max_line)  # a longer line: its first max_line + 1 bytes
        self._done = False
        self._head = b""  # the first bytes, until there are enough to tell a compression
        self._decided = False
        self._inflater: Inflater | None = None
        self._error: InputError | None = None

    @property
    def done(self) -> bool:
        return self._done

    def open(self) -> None:
        os.fstat(self.fd)  # fails now, not later, when there is no such descriptor

    def read(self) -> Batch | None:
        if self._error is not None:  # after the lines before it
            self._done = True
            raise self._error
        data = os.read(self.fd, READ_SIZE)
        if not data:
            return self._end()
        if not self._decided:
            self._head += data
            if len(self._head) < HEAD:
                return None
            data = self._decide()
        return self._lines.push(self._decode(data))

    def _end(self) -> Batch | None:
        """The last lines; a compressed stream cut short is an error on the next read."""
        tail = self._decode(self._decide())
        if self._inflater is not None:
            try:
                self._inflater.finish()
            except EOFError as error:
                self._error = InputError(f"{self.name}: {error}")
        self._done = self._error is None
        first = self._lines.push(tail) if tail else None
        last = self._lines.finish()
        if first is None or last is None:
            return first or last
        first.lines.extend(last.lines)  # numbered on: `last` starts where `first` ends
        return first

    def _decide(self) -> bytes:
        """The bytes held back to tell a compression, once it is told."""
        if not self._decided:
            self._decided = True
            codec = codec_of(self._head)
            self._inflater = Inflater(codec) if codec is not None else None
        head, self._head = self._head, b""
        return head

    def _decode(self, data: bytes) -> bytes:
        if self._inflater is None:
            return data
        try:
            return self._inflater.feed(data)
        except DECODE_ERRORS as error:
            raise InputError(f"{self.name}: {self._inflater.codec.name}: {error}") from None

    def close(self) -> None:
        """Standard input belongs to whoever started us: left open."""
