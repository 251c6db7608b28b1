"""A reassembled audit event: the records that share (node, timestamp, serial)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from detect.auditd.record import EventKey, Record, stamp_to_ms
from detect.core.timefmt import iso_ms

if TYPE_CHECKING:
    from detect.proctree.process import Process


# How an event was completed.
EOE: Final = "eoe"  # an EOE record closed it
PROCTITLE: Final = "proctitle"  # its PROCTITLE record closed it: the kernel writes it last
STANDALONE: Final = "standalone"  # a single-record type
EXPIRED: Final = "expired"  # audit time moved past the horizon without an EOE
EVICTED: Final = "evicted"  # the in-flight table was full
FLUSHED: Final = "flushed"  # end of input
LATE: Final = "late"  # records that arrived after their event had already been completed


class AuditEvent:
    """Records of one event in arrival order, plus how it was completed, and what later
    stages computed of it once (each in its own slot; None until computed): the decoded argv,
    SOCKADDR and ECS summary (detect.auditd), its process in the tree (detect.proctree), and its
    views (detect.views: typed there, Any here, where those types are not known)."""

    __slots__ = (
        "argv",
        "argv_truncated",
        "category_views",
        "completion",
        "dropped",
        "ecs",
        "held",
        "node",
        "process",
        "recent",
        "record_views",
        "records",
        "serial",
        "size",
        "sockaddr",
        "sockaddr_done",
        "stamp",
        "syscall_view",
        "syscall_view_done",
        "time_ms",
    )

    def __init__(self, first: Record) -> None:
        self.node = first.node
        self.stamp = first.stamp
        self.serial = first.serial
        self.time_ms = stamp_to_ms(first.stamp)  # audit time, milliseconds since the epoch
        self.records: list[Record] = [first]
        self.size = len(first.line)  # bytes (characters) of its records' lines: bounded
        self.dropped = 0  # records refused because the event reached its bounds
        # in flight, the records after the first as reassembly keeps them (a few values
        # each, see detect.auditd.reassemble._Node); None once they are records again
        self.held: list[object] | None = None
        self.completion = ""
        self.recent = -1  # reassembly's key of it among completed events (-1: not started there)
        self.process: Process | None = None  # its process in the tree, once observed
        self.argv: list[str] | None = None
        self.argv_truncated: bool | None = None  # None: argv not decoded yet
        self.sockaddr: dict[str, Any] | None = None
        self.sockaddr_done = False
        self.ecs: dict[str, Any] | None = None
        self.syscall_view: Any = None  # detect.views.record.RecordView | None
        self.syscall_view_done = False
        self.record_views: Any = None  # list[detect.views.record.View] | None
        self.category_views: Any = None  # dict[str, detect.views.category.View] | None

    @property
    def key(self) -> EventKey:
        """(node, stamp, serial): the key reassembly keys the event by."""
        return (self.node, self.stamp, self.serial)

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
