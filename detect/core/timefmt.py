"""Audit time as text: milliseconds since the epoch written as ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


@lru_cache(maxsize=1024)
def iso_second(seconds: int) -> str:
    """`2026-11-22T03:01:26`: events of one second share it."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC: `2026-11-22T03:01:26.890Z`."""
    return f"{iso_second(ms // 1000)}.{ms % 1000:03d}Z"
