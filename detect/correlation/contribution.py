"""What a correlation keeps of a matched event while its windows wait: the rule and the view it
matched on, and the event as its record lines, the form reassembly received it in. Windows
last minutes of audit time and hold up to thousands of hits each: holding the parsed event
(its fields, views, ECS summary and the matcher's caches) per hit made memory grow with the
input. The event is parsed again from its lines only when a correlation alert shows it
(detect.correlation.alert), which gives the same exported event: that depends on the records'
lines, the event's node and how it was completed, nothing else.

The hits of one rule are events of one activity, whose lines differ by a few dozen bytes: a
hit that stays on its host is packed against its rule's `preset` (the pickle of the rule's
first hit's lines, which the correlation stage keeps per rule), about a third of its size
alone. What crosses processes is packed alone: the other side has no preset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from detect.auditd.event import AuditEvent
from detect.auditd.record import parse_line
from detect.core.packing import pack, unpack, unpack_against

if TYPE_CHECKING:
    from detect.matching.engine import Match
    from detect.sigma.model import Rule


Parts = tuple[str, "str | None", str, bytes]  # view, node, completion, packed lines


class Contribution:
    """A match (`rule`, `view`) with its event kept as lines (compressed to about half their
    pickle, or against `preset`: detect.core.packing); `event` parses it again."""

    __slots__ = ("completion", "node", "packed", "preset", "rule", "view")

    def __init__(self, match: Match, preset: bytes | None = None) -> None:
        event = match.event
        self.rule: Rule = match.rule
        self.view = match.view
        self.node = event.node
        self.completion = event.completion
        self.preset = preset
        self.packed = pack(event_lines(event), preset)

    def parts(self) -> Parts:
        """What crosses processes (the rule is not: the other side has the same rules), the
        lines packed alone."""
        packed = self.packed if self.preset is None else pack(self.lines)
        return (self.view, self.node, self.completion, packed)

    @classmethod
    def restored(cls, rule: Rule, parts: Parts) -> Contribution:
        """The contribution `parts` came from, with `rule` (the same rule, loaded here)."""
        contribution = cls.__new__(cls)
        contribution.rule = rule
        contribution.preset = None
        contribution.view, contribution.node, contribution.completion, contribution.packed = parts
        return contribution

    @property
    def lines(self) -> list[str]:
        """The event's record lines, as read."""
        if self.preset is None:
            alone: list[str] = unpack(self.packed)
            return alone
        lines: list[str] = unpack_against([self.packed], self.preset)[0]
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


def event_lines(event: AuditEvent) -> list[str]:
    """What a contribution keeps of the event: its records' lines (a preset is their pickle)."""
    return [record.line for record in event.records]
