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
from detect.sigma.index import Bucket, RuleIndex
from detect.sigma.model import Rule
from detect.views.record import RecordView, SyscallContext, record_sources


class RecordPlan:
    """Where one record index finds the fields it reads on records of one type, decided once
    per type and per kind of event, with or without a SYSCALL record (DESIGN §9;
    `record_sources`): the context fields, read once per event from the SYSCALL record;
    `type`, the same for every record of the type (`fixed`: its hits); the record's own
    fields, only those its type can carry; other fields, asked of its view. A plan with
    neither own nor other fields (`constant`) has the same candidates on every record of the
    type in an event, and so do the constant plans of an index without `type` hits on all the
    auxiliary records of an event (`shared`: the key of these candidates in an event). Records
    of other types are looked up through their view (`direct` is False: `candidates`)."""

    __slots__ = ("constant", "context", "direct", "fixed", "index", "other", "own", "shared")

    def __init__(self, index: RuleIndex, record_type: str, context: bool) -> None:
        self.index = index
        sources = record_sources(record_type, index.fields, context)
        self.direct = sources is not None
        self.context, self.own, other = sources or ((), (), ())
        fixed: list[Bucket] = []
        if TYPE_FIELD in other:
            index.hits(TYPE_FIELD, record_type, fixed)
        self.fixed = tuple(fixed)
        self.other = tuple(name for name in other if name != TYPE_FIELD)
        self.constant = self.direct and not (self.own or self.other)
        # the plans of auxiliary records (those with context fields) share the context's hits
        self.shared = id(index) if self.context and not fixed else id(self)


class RecordPass:
    """One event's records through the record indexes; what its records share (the SYSCALL
    record's view and context, the context's hits per index, argv) is computed once, when
    first needed, and a record's view only when something must read it."""

    __slots__ = ("_constant", "_context", "_hits", "_matched", "_view", "event", "syscall")

    def __init__(self, event: AuditEvent, syscall: RecordView | None) -> None:
        self.event = event
        self.syscall = syscall
        self._context: SyscallContext | None = None
        self._hits: dict[int, list[Bucket]] = {}  # per index: the context's hits
        self._constant: dict[int, Sequence[Rule]] = {}  # by `RecordPlan.shared`: candidates
        self._matched: set[int] = set()
        self._view: RecordView | None = None

    def candidates(self, plan: RecordPlan, record: Record) -> Sequence[Rule]:
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
        hits = self._shared_hits(plan) if plan.context else [*plan.fixed]
        fields = record.fields
        for name in plan.own:
            index.hits(name, fields.get(name), hits)
        if plan.other:
            view = self.view(record)
            for name in plan.other:
                index.hits(name, view.get(name), hits)
        return index.select(hits)

    def _shared_hits(self, plan: RecordPlan) -> list[Bucket]:
        """A new list of the buckets every record of the plan's type reaches in its index:
        its type's, and the SYSCALL context's (the same in every plan of the index that has
        context fields: those of the index's fields, found once per event)."""
        if not plan.context:
            return [*plan.fixed]
        index = plan.index
        hits = self._hits.get(id(index))
        if hits is None:
            hits = self._hits[id(index)] = []
            syscall = self.syscall
            if syscall is not None:
                for name in plan.context:
                    index.hits(name, syscall.context_get(name), hits)
        return [*hits, *plan.fixed]

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
