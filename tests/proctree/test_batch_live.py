"""Must-show 4: the batch path and the live-shaped path give the same tree fields.

Batch: the scan's way, `Reassembler.feed` over the files and a flush at the end (events
complete by audit-time expiry, 2 s horizon). Live: each line pushed on its own, as a follow
or socket source does, with a short horizon so that events complete while lines still arrive,
and a flush at the end instead of a wall-clock timer. Both
feed an Engine with its own tree; the tree fields of every event's process, taken when the
event was evaluated, must be equal.
"""

from __future__ import annotations

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.core.resources import ROOT
from detect.matching.engine import Engine
from detect.proctree.fields import tree_fields
from detect.sigma.load import load_detections
from detect.sources.lines import iter_lines

CAPTURES = [
    str(ROOT / "tests" / "proctree" / "captures" / f"{name}.log")
    for name in ("web_shell", "chain", "pid_reuse", "exec_chain", "tree_detections")
]
Seen = dict[tuple[str | None, str, int], tuple[object, ...]]


def recorder(engine: Engine, seen: Seen, order: list[int]) -> object:
    def on_event(event: AuditEvent) -> None:
        alerts = sorted(match.rule.id for match in engine.evaluate(event))
        fields = dict(tree_fields(event.process)) if event.process is not None else None
        seen[(event.node, event.stamp, event.serial)] = (fields, tuple(alerts))
        order.append(event.serial)

    return on_event


def engine() -> Engine:
    return Engine(load_detections().rules)  # the shipped detections, tree on


def test_batch_and_live_give_equal_tree_fields() -> None:
    batch: Seen = {}
    batch_order: list[int] = []
    machine = Reassembler(recorder(engine(), batch, batch_order))  # type: ignore[arg-type]
    machine.feed(iter_lines(CAPTURES))
    machine.flush()

    live: Seen = {}
    live_order: list[int] = []
    pushed = Reassembler(recorder(engine(), live, live_order), horizon_ms=1)  # type: ignore[arg-type]
    for line, source, number in iter_lines(CAPTURES):
        pushed.push(line, source, number)
    pushed.flush()

    assert len(batch) == len(live) == 195
    assert live_order == batch_order  # these captures keep each event's records together
    assert live == batch
    with_parent = [f for f, _ in batch.values() if f is not None and "ParentImage" in f]
    assert len(with_parent) > 120
    assert sum(bool(alerts) for _, alerts in batch.values()) >= 6
