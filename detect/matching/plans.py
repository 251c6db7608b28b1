"""Which rules can care about a record, decided before any view is built (DESIGN §9).

Per record type, a `RecordPlan` says where each field an index reads comes from (the SYSCALL
context, once per event; the record's own fields, only those its type can carry; `type`,
fixed), and `RecordPass` takes one event's records through the plans: a record's lazy
`RecordView` is built only when it has candidate rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.record import Record
from detect.matching.dispatch import TYPE_FIELD
from detect.sigma.index import NO_BUCKETS, Bucket, FieldTable, RuleIndex
from detect.sigma.model import Rule
from detect.views.record import RecordView, SyscallContext, record_sources


class RecordPlan:
    """Where one record index finds the fields it reads on records of one type, decided once
    per type and per kind of event, with or without a SYSCALL record (DESIGN §9;
    `record_sources`): the context fields, read once per event from the SYSCALL record;
    `type`, the same for every record of the type (`fixed`: its hits); the record's own
    fields, only those its type can carry; other fields, asked of its view. Each field comes
    with the index's table of it (`FieldTable`), looked up directly. A plan with neither own
    nor other fields (`constant`) has the same candidates on every record of the type in an
    event, and so do the constant plans of an index without `type` hits on all the auxiliary
    records of an event (`shared`: the key of these candidates in an event). Records of other
    types are looked up through their view (`direct` is False: `candidates`)."""

    __slots__ = ("constant", "context", "direct", "fixed", "index", "other", "own", "shared")

    def __init__(self, index: RuleIndex, record_type: str, context: bool) -> None:
        self.index = index
        sources = record_sources(record_type, index.fields, context)
        self.direct = sources is not None
        from_context, own, other = sources or ((), (), ())
        fixed: list[Bucket] = []
        if TYPE_FIELD in other:
            index.hits(TYPE_FIELD, record_type, fixed)
        self.fixed = tuple(fixed)
        self.context = _tables(index, from_context)
        self.own = _tables(index, own)
        self.other = _tables(index, [name for name in other if name != TYPE_FIELD])
        self.constant = self.direct and not (self.own or self.other)
        # the plans of auxiliary records (those with context fields) share the context's hits
        self.shared: object = index if self.context and not fixed else self


def _tables(index: RuleIndex, names: Sequence[str]) -> tuple[FieldTable, ...]:
    """The index's tables of `names` (every name is one of `index.fields`: each has one)."""
    return tuple(table for table in map(index.table, names) if table is not None)


class RecordPass:
    """One event's records through the record indexes; what its records share (the SYSCALL
    record's view and context, the context's hits per index, argv) is computed once, when
    first needed, and a record's view only when something must read it."""

    __slots__ = ("_constant", "_context", "_hits", "_matched", "_view", "event", "syscall")

    def __init__(self, event: AuditEvent, syscall: RecordView | None) -> None:
        self.event = event
        self.syscall = syscall
        self._context: SyscallContext | None = None
        self._hits: dict[RuleIndex, tuple[Bucket, ...]] = {}  # per index: the context's hits
        self._constant: dict[object, tuple[Rule, ...]] = {}  # by `RecordPlan.shared`
        self._matched: set[int] = set()
        self._view: RecordView | None = None

    def candidates(self, plan: RecordPlan, record: Record) -> tuple[Rule, ...]:
        """`plan.index.candidates(view)` for the record's view, without building it unless
        the plan must ask it."""
        index = plan.index
        if plan.constant:
            found = self._constant.get(plan.shared)
            if found is None:
                found = self._constant[plan.shared] = index.select(self._shared_hits(plan))
            return found
        if not plan.direct:
            return index.candidates(self.view(record))
        hits = self._record_hits(plan, record)
        return index.always if hits is None else index.select(hits)

    def _record_hits(self, plan: RecordPlan, record: Record) -> list[Bucket] | None:
        """The buckets a record reaches through a direct plan that is not constant; None
        when it reaches none (most records: no list is made for them)."""
        shared = self._context_hits(plan) if plan.context else NO_BUCKETS
        hits: list[Bucket] | None = None
        if shared or plan.fixed:
            hits = [*shared, *plan.fixed]
        fields = record.fields
        for table in plan.own:
            value = fields.get(table.field)
            if value is not None:
                found = table.lookup(value)
                if found:
                    if hits is None:
                        hits = []
                    hits.extend(found)
        if plan.other:
            view = self.view(record)
            for table in plan.other:
                other = view.get(table.field)
                if other is not None:
                    if hits is None:
                        hits = []
                    table.collect(other, hits)
        return hits

    def _shared_hits(self, plan: RecordPlan) -> list[Bucket]:
        """A new list of the buckets every record of the plan's type reaches in its index:
        its type's, and the SYSCALL context's (`_context_hits`)."""
        if not plan.context:
            return [*plan.fixed]
        return [*self._context_hits(plan), *plan.fixed]

    def _context_hits(self, plan: RecordPlan) -> tuple[Bucket, ...]:
        """The buckets the SYSCALL context reaches in the plan's index: the same in every
        plan of the index that has context fields (those of the index's fields), found once
        per event."""
        index = plan.index
        hits = self._hits.get(index)
        if hits is None:
            found: list[Bucket] = []
            syscall = self.syscall
            if syscall is not None:
                for table in plan.context:
                    value = syscall.context_get(table.field)
                    if value is not None:
                        table.collect(value, found)
            hits = self._hits[index] = tuple(found)
        return hits

    def first_match(self, rule: Rule, record: Record) -> bool:
        """True when `rule` matches the record and matched no earlier record of the event."""
        if id(rule) in self._matched or not rule.match(self.view(record)):
            return False
        self._matched.add(id(rule))
        return True

    def view(self, record: Record) -> RecordView:
        """The record's view, built once (the SYSCALL record's is the event's)."""
        view = self._view
        if view is not None and view.record is record:
            return view
        syscall = self.syscall
        if syscall is not None and record is syscall.record:
            view = syscall
        else:
            if self._context is None and syscall is not None:
                self._context = SyscallContext(syscall)
            argv = interpret.execve_argv(self.event) if record.type == "EXECVE" else None
            view = RecordView(record, self._context, argv, self.event.process)
        self._view = view
        return view
