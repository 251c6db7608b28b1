"""What correlation windows hold of a matched event: its lines, not the parsed event. A hit
in its windows reads no field any more and keeps no AuditEvent; the correlation alert shows
the event exactly as it would have from the event itself."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from detect.auditd.event import AuditEvent
from detect.core.packing import pack, unpack
from detect.correlation.contribution import Contribution, event_lines
from detect.matching.alert import event_document
from detect.matching.engine import Match
from detect.pipeline.factory import build_engine, build_reassembler, build_scan
from detect.sigma.correlation.hit import Hit
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


def _held(capture: str) -> tuple[list[Match], list[Hit]]:
    """The capture's matches (from an engine of their own: the scan's compiled engine cannot
    be patched), and the hits its scan's correlation windows hold once audit time has passed
    them by the horizon (windows of minutes stay open)."""
    rules = load_detections()
    lines = list(enumerate((CAPTURES / capture).open(), 1))
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
    latest = max(match.event.time_ms for match in matches)
    stage.advance(latest + stage.correlator.horizon_ms)
    assert stage.correlator.pending == 0
    held = [
        entry.hit for windows in stage.correlator.windows.values()
        for entries in windows.groups.values() for entry in entries
    ]  # fmt: skip
    assert held, "the capture leaves hits in open windows"
    return matches, held


def test_windows_keep_lines_not_events() -> None:
    matches, held = _held("account_created_used.log")
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


def test_hits_of_a_rule_pack_against_its_first_and_cross_processes_alone() -> None:
    matches, held = _held("account_created_used.log")
    by_key = {(m.event.key, m.rule.id): m for m in matches}
    presets: dict[str | None, bytes] = {}
    smaller = 0
    for hit in held:
        contribution = hit.payload
        assert isinstance(contribution, Contribution)
        preset = contribution.preset
        assert preset is not None  # the shipped correlations group on one host: none exported
        # one preset per rule, shared by its hits
        assert presets.setdefault(contribution.rule.id, preset) is preset
        match = by_key[(contribution.event.key, contribution.rule.id)]
        lines = event_lines(match.event)
        assert contribution.lines == lines
        smaller += len(contribution.packed) < len(pack(lines))
        # what crosses processes reads back without the preset
        parts = contribution.parts()
        assert unpack(parts[3]) == lines
        assert Contribution.restored(contribution.rule, parts).lines == lines
    assert smaller == len(held), "every hit packs smaller against its rule's first"
