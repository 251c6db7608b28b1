"""What correlation windows hold of a matched event: its lines, not the parsed event. A hit
in its windows reads no field any more and keeps no AuditEvent; the correlation alert shows
the event exactly as it would have from the event itself."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from detect.auditd.event import AuditEvent
from detect.correlation.contribution import Contribution
from detect.matching.alert import event_document
from detect.matching.engine import Match
from detect.pipeline.factory import build_engine, build_reassembler, build_scan
from detect.sigma.load import load_detections

CAPTURES = Path(__file__).parent / "captures"


def _reaches_event(root: object, depth: int = 4) -> bool:
    """Whether an AuditEvent is reachable from `root` in a few references."""
    seen: set[int] = set()
    frontier: list[Any] = [root]
    for _ in range(depth):
        following: list[Any] = []
        for item in frontier:
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, AuditEvent):
                return True
            following.extend(gc.get_referents(item))
        frontier = following
    return False


def test_windows_keep_lines_not_events() -> None:
    rules = load_detections()
    lines = list(enumerate((CAPTURES / "account_created_used.log").open(), 1))
    # the matches, from an engine of their own (the scan's compiled engine cannot be patched)
    matches: list[Match] = []
    engine = build_engine(rules)
    alone = build_reassembler(lambda event: matches.extend(engine.evaluate(event)))
    alone.feed((line, "a.log", n) for n, line in lines)
    alone.flush()
    scan = build_scan(rules, lambda alert: None)
    stage = scan.correlations
    assert stage is not None
    machine = build_reassembler(scan.on_event, scan=scan)
    machine.feed((line, "a.log", n) for n, line in lines)
    machine.flush()
    # the hits go into their windows once audit time passes them by the horizon; windows of
    # minutes stay open
    latest = max(match.event.time_ms for match in matches)
    stage.advance(latest + stage.correlator.horizon_ms)
    assert stage.correlator.pending == 0
    held = [
        entry.hit for windows in stage.correlator.windows.values()
        for entries in windows.groups.values() for entry in entries
    ]  # fmt: skip
    assert held, "the capture leaves hits in open windows"
    for hit in held:
        assert isinstance(hit.payload, Contribution)
        assert not _reaches_event(hit)
        with pytest.raises(RuntimeError, match="already in its windows"):
            hit.get("uid")
    by_key = {(m.event.key, m.rule.id): m for m in matches}
    for hit in held:
        contribution = hit.payload
        assert isinstance(contribution, Contribution)
        match = by_key[(contribution.event.key, contribution.rule.id)]
        again = event_document(contribution.event, contribution.view)
        assert again == event_document(match.event, match.view)
