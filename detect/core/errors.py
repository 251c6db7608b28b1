"""The one error root of the input side: every error says where it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """Where a line came from: a file (or `-` for stdin) and a 1-based line number."""

    source: str = "-"
    line: int = 0

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


class DetectError(Exception):
    """Root of every error this project raises on purpose."""


@dataclass(frozen=True, eq=True)
class ParseError(DetectError):
    """An audit line that could not be parsed; compares by value so tests can assert it."""

    reason: str
    location: Location = Location()
    excerpt: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.reason}"
        return f"{text}: {self.excerpt!r}" if self.excerpt else text
