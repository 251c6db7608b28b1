"""Audit time as text: milliseconds since the epoch written as ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Final


@lru_cache(maxsize=1024)
def iso_second(seconds: int) -> str:
    """`2026-11-22T03:01:26`: events of one second share it."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


MILLIS: Final = tuple(f".{ms:03d}Z" for ms in range(1000))  # `.890Z`: no format per call


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC: `2026-11-22T03:01:26.890Z`."""
    return iso_second(ms // 1000) + MILLIS[ms % 1000]
