"""Fields of the view a match was found on, by the names correlations read (`group-by`, the
measured `field`): a record-view rule (`service: auditd`) reads the record that matched (then
the event's other records) by raw audit names (`auid`, `exe`, `name`…); a category rule reads
its category view by Sigma names, mapped through the same pySigma field mapping as the rules
(`User` -> `user.name`), or by the view's own names. `host.name` (also `host`, `ComputerName`)
is the event's node ("" for a record without `node=` and no `--host`: one unnamed host, still
grouped). Process-tree fields come with the views once the tree has observed the
event (the engine does that before evaluating)."""

from __future__ import annotations

from detect.auditd.event import AuditEvent
from detect.kernel import tables
from detect.matching.dispatch import RECORD_VIEW
from detect.matching.engine import Match
from detect.proctree.fields import TREE_KEYS
from detect.sigma.correlation.hit import FieldGetter
from detect.sigma.model import Rule
from detect.sigma.pipeline import field_mapping
from detect.views.category import category_views
from detect.views.record import CONTEXT, ID_FIELDS, View, record_views

# What a record-view rule may name beside the audit fields of audit-specs (kernel.tables)
RECORD_EXTRAS = (
    frozenset(
        ("type", "CommandLine", "EXIT", "PROCTITLE", *CONTEXT, *(f.upper() for f in ID_FIELDS))
    )
    | TREE_KEYS
)

HOST_FIELDS = frozenset(("host.name", "host", "ComputerName", "Computer"))
LINUX = "linux"


def field_getter(match: Match) -> FieldGetter:
    """Reads a field of the view `match` was found on (see the module's doc)."""
    event = match.event
    if match.view == RECORD_VIEW:
        return _record_getter(match.rule, event)
    mapping = field_mapping(LINUX, match.view)
    view = category_views(event).get(match.view, {})

    def get(name: str) -> object:
        if name in HOST_FIELDS:
            return event.node or ""
        value = view.get(mapping.get(name, name))
        return view.get(name) if value is None else value

    return get


def _record_getter(rule: Rule, event: AuditEvent) -> FieldGetter:
    views = record_views(event)
    ordered: list[View] | None = None

    def get(name: str) -> object:
        nonlocal ordered
        if name in HOST_FIELDS:
            return event.node or ""
        if ordered is None:  # the records the rule matched first, then the others
            matched = [view for view in views if rule.match(view)]
            ordered = matched + [view for view in views if not any(v is view for v in matched)]
        for view in ordered:
            value = view.get(name)
            if value is not None:
                return value
        return None

    return get


def record_view_field(name: str) -> bool:
    """Whether a record view can hold `name`: an audit field, an interpreted (ENRICHED) name,
    a SYSCALL context field, or a process-tree field."""
    return name in RECORD_EXTRAS or tables.is_known_field(name)
