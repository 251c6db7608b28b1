"""A file output that rotates by size: `alerts.jsonl` → `alerts.jsonl.1` … `.N` (N backups; the
oldest is removed). Rotation happens only between lines (a writer may write one alert in
several calls), so a file may pass `max_bytes` by the end of one alert. Each file is opened by
`safe_open.open_output` (no symlinks, our own regular file, created 0600 or `mode`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from detect.outputs.safe_open import FILE_MODE, open_output


class RotatingFile:
    """Enough of a text stream for the alert writers: write, flush, close."""

    def __init__(self, path: Path, max_bytes: int, backups: int, mode: int = FILE_MODE) -> None:
        if max_bytes <= 0 or backups < 0:
            raise ValueError("max_bytes must be positive and backups not negative")
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.mode = mode
        self.rotations = 0
        self._stream: TextIO = self._open()
        self._size = os.fstat(self._stream.fileno()).st_size
        self._line_start = True

    def _open(self) -> TextIO:
        return open_output(self.path, mode=self.mode)

    def write(self, text: str) -> int:
        if self._line_start and self._size >= self.max_bytes:
            self._rotate()
        self._stream.write(text)
        self._size += len(text.encode("utf-8", "surrogateescape"))
        self._line_start = text.endswith("\n")
        return len(text)

    def _rotate(self) -> None:
        self._stream.close()
        if self.backups == 0:
            self.path.unlink()
        else:
            for n in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._stream = self._open()
        self._size = 0
        self.rotations += 1

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()
