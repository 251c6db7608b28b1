"""What a correlation keeps of a matched event while its windows wait: the rule and the view it
matched on, and the event as its record lines, the form reassembly received it in. Windows
last minutes of audit time and hold up to thousands of hits each: holding the parsed event
(its fields, views, ECS summary and the matcher's caches) per hit made memory grow with the
input. The event is parsed again from its lines only when a correlation alert shows it
(detect.correlation.alert), which gives the same exported event: that depends on the records'
lines, the event's node and how it was completed, nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from detect.auditd.event import AuditEvent
from detect.auditd.record import parse_line
from detect.core.packing import pack, unpack

if TYPE_CHECKING:
    from detect.matching.engine import Match
    from detect.sigma.model import Rule


Parts = tuple[str, "str | None", str, bytes]  # view, node, completion, packed lines


class Contribution:
    """A match (`rule`, `view`) with its event kept as lines (compressed to about half their
    pickle: detect.core.packing); `event` parses it again."""

    __slots__ = ("completion", "node", "packed", "rule", "view")

    def __init__(self, match: Match) -> None:
        event = match.event
        self.rule: Rule = match.rule
        self.view = match.view
        self.node = event.node
        self.completion = event.completion
        self.packed = pack([record.line for record in event.records])

    def parts(self) -> Parts:
        """What crosses processes (the rule is not: the other side has the same rules)."""
        return (self.view, self.node, self.completion, self.packed)

    @classmethod
    def restored(cls, rule: Rule, parts: Parts) -> Contribution:
        """The contribution `parts` came from, with `rule` (the same rule, loaded here)."""
        contribution = cls.__new__(cls)
        contribution.rule = rule
        contribution.view, contribution.node, contribution.completion, contribution.packed = parts
        return contribution

    @property
    def lines(self) -> list[str]:
        """The event's record lines, as read."""
        lines: list[str] = unpack(self.packed)
        return lines

    @property
    def event(self) -> AuditEvent:
        """The event as reassembly completed it, parsed again from its lines (not kept)."""
        records = [parse_line(line) for line in self.lines]
        event = AuditEvent(records[0])
        for record in records:  # as reassembly sets them: the node (`--host`), one key
            record.node, record.stamp, record.serial = self.node, event.stamp, event.serial
        event.records = records
        event.node = self.node
        event.completion = self.completion
        return event

    def __repr__(self) -> str:
        return f"Contribution({self.rule.title!r} {self.view} {self.node})"
