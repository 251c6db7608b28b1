"""A reassembled audit event: the records that share (node, timestamp, serial)."""

from __future__ import annotations

from typing import Any, Final

from detect.auditd.record import Record, stamp_to_ms
from detect.core.timefmt import iso_ms

# How an event was completed.
EOE: Final = "eoe"  # an EOE record closed it
STANDALONE: Final = "standalone"  # a single-record type
EXPIRED: Final = "expired"  # audit time moved past the horizon without an EOE
EVICTED: Final = "evicted"  # the in-flight table was full
FLUSHED: Final = "flushed"  # end of input
LATE: Final = "late"  # records that arrived after their event had already been completed


class AuditEvent:
    """Records of one event in arrival order, plus how it was completed."""

    __slots__ = ("cache", "completion", "node", "process", "records", "serial", "stamp", "time_ms")

    def __init__(self, first: Record) -> None:
        self.node = first.node
        self.stamp = first.stamp
        self.serial = first.serial
        self.time_ms = stamp_to_ms(first.stamp)  # audit time, milliseconds since the epoch
        self.records: list[Record] = [first]
        self.completion = ""
        self.cache: dict[str, Any] = {}
        self.process: Any = None  # its process in the tree (detect.proctree), once observed

    @property
    def timestamp(self) -> str:
        """ISO 8601 UTC with milliseconds, e.g. 2026-11-22T03:01:26.890Z."""
        return iso_ms(self.time_ms)

    def first(self, rtype: str) -> Record | None:
        for record in self.records:
            if record.type == rtype:
                return record
        return None

    def all(self, rtype: str) -> list[Record]:
        return [record for record in self.records if record.type == rtype]

    @property
    def types(self) -> list[str]:
        return [record.type for record in self.records]

    def __repr__(self) -> str:
        return f"AuditEvent({self.node or ''} {self.stamp}:{self.serial} {self.types})"
