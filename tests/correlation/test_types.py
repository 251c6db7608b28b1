"""Each correlation type on constructed hit streams, with the exact alerts expected: exactly at
the threshold, an event on the window boundary, events out of order, two groups interleaved."""

from __future__ import annotations

from pathlib import Path

from detect.sigma.correlation.window import Limits
from tests.correlation.streams import UUIDS, stream

A, B, C = UUIDS["a"], UUIDS["b"], UUIDS["c"]


def corr(kind: str, rules: str, condition: str, extra: str = "", span: str = "10s") -> str:
    return f"""\
title: {kind}
id: 5b8a1f7e-1111-4c1a-9e55-00000000000{len(kind) % 10}
correlation:
  type: {kind}
  rules: [{rules}]
  group-by: [user]
  timespan: {span}
  {condition}
{extra}"""


def test_event_count_at_threshold_boundary_and_groups(tmp_path: Path) -> None:
    s = stream(tmp_path, corr("event_count", "a", "condition: {gte: 3}"))
    for seconds, user in [(0, "x"), (1, "y"), (2, "x"), (3, "y"), (10, "x"), (11.001, "y")]:
        s.hit("a", seconds, user=user)
    # x: 0, 2, 10 -> exactly 3 with the third on the window's end (inclusive); y: 1, 3, 11.001
    # spans 10.001 s -> no alert
    assert s.flush() and s.summary() == [("event_count", {"user": "x"}, 3.0, 0, 10000, [1, 3, 5])]


def test_event_count_fires_again_only_on_a_fresh_window(tmp_path: Path) -> None:
    s = stream(tmp_path, corr("event_count", "a", "condition: {gte: 2}"))
    for seconds in (0, 1, 2, 3, 4):
        s.hit("a", seconds, user="x")
    assert [r[5] for r in s.flush() and s.summary()] == [[1, 2], [3, 4]]


def test_out_of_order_within_horizon_equals_in_order(tmp_path: Path) -> None:
    ordered = stream(tmp_path, corr("event_count", "a", "condition: {gte: 3}", span="2s"))
    for seconds in (0.0, 1.0, 1.5, 2.5):
        ordered.hit("a", seconds, user="x")
    shuffled = stream(tmp_path, corr("event_count", "a", "condition: {gte: 3}", span="2s"))
    for seconds in (1.0, 1.5, 0.0, 2.5):  # 0.0 arrives 1.5 s late: within the 2 s horizon
        shuffled.hit("a", seconds, user="x")
    expected = [(0, 1500)]
    assert [(r.start_ms, r.end_ms) for r in ordered.flush()] == expected
    assert [(r.start_ms, r.end_ms) for r in shuffled.flush()] == expected
    assert shuffled.correlator.stats.late == 0


def test_late_beyond_horizon_is_counted(tmp_path: Path) -> None:
    s = stream(tmp_path, corr("event_count", "a", "condition: {gte: 2}"), horizon_ms=500)
    s.hit("a", 5, user="x")
    s.hit("a", 1, user="x")  # 4 s behind: late, still placed in time order
    assert s.correlator.stats.late == 1
    assert [(r.start_ms, r.end_ms) for r in s.flush()] == [(1000, 5000)]


def test_value_count_distinct_values(tmp_path: Path) -> None:
    s = stream(tmp_path, corr("value_count", "a", "condition: {gte: 3, field: image}"))
    for seconds, image in [(0, "id"), (1, "id"), (2, "ps"), (3, "id"), (4, "uname")]:
        s.hit("a", seconds, user="x", image=image)
    s.hit("a", 5, user="y", image="id")
    s.hit("a", 6, user="x")  # no image: not a value
    assert s.flush() and s.summary() == [
        ("value_count", {"user": "x"}, 3.0, 0, 4000, [1, 2, 3, 4, 5])
    ]


def test_temporal_any_order_and_ordered(tmp_path: Path) -> None:
    text = corr("temporal", "a, b, c", "")
    s = stream(tmp_path, text)
    for rule, seconds in [("c", 0), ("a", 1), ("b", 2), ("a", 20), ("b", 31)]:
        s.hit(rule, seconds, user="x")
    assert [(r.value, r.start_ms, r.end_ms) for r in s.flush()] == [(3.0, 0, 2000)]
    ordered = stream(tmp_path, corr("temporal_ordered", "a, b", ""))
    for rule, seconds, user in [
        ("b", 0, "x"),
        ("a", 1, "x"),
        ("a", 2, "y"),
        ("b", 12, "y"),
        ("b", 13, "x"),
    ]:
        ordered.hit(rule, seconds, user=user)
    # x: b before a does not count; a at 1 then b at 13 is 12 s apart; y: a then b exactly 10 s
    assert [(r.group, r.start_ms, r.end_ms) for r in ordered.flush()] == [
        ({"user": "y"}, 2000, 12000)
    ]


def test_metrics_decide_at_window_close(tmp_path: Path) -> None:
    total = stream(tmp_path, corr("value_sum", "a", "condition: {gt: 100, field: bytes}"))
    for seconds, size in [(0, 60), (10, 41), (10.5, 500), (30, 101)]:
        total.hit("a", seconds, user="x", bytes=size)
    # [0, 10]: 101 > 100 fires; [10.5, 20.5]: 500; [30, 40] at flush: 101
    assert [(r.value, r.start_ms, r.end_ms) for r in total.flush()] == [
        (101.0, 0, 10000),
        (500.0, 10500, 10500),
        (101.0, 30000, 30000),
    ]
    avg = stream(tmp_path, corr("value_avg", "a", "condition: {lte: 10, field: bytes}"))
    for seconds, size in [(0, 30), (1, "n/a"), (20, 4), (21, 16)]:
        avg.hit("a", seconds, user="x", bytes=size)
    # [0, 10]: avg 30 (the text is no number); slides: [1, 11] nothing numeric; [20, 30]: 10
    assert [(r.value, r.start_ms, r.end_ms) for r in avg.flush()] == [(10.0, 20000, 21000)]


def test_percentile_and_lt(tmp_path: Path) -> None:
    high = stream(
        tmp_path,
        corr("value_percentile", "a", "condition: {gte: 90, field: ms, percentile: 90}"),
    )
    for seconds, ms in enumerate([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]):
        high.hit("a", seconds, user="x", ms=ms)
    assert [r.value for r in high.flush()] == [91.0]  # linear between 90 and 100
    few = stream(tmp_path, corr("event_count", "a", "condition: {lt: 2}"))
    for seconds, user in [(0, "x"), (1, "y"), (5, "y")]:
        few.hit("a", seconds, user=user)
    # x: [0, 10] holds 1; y: [1, 11] holds 2, so the window slides to [5, 15], which holds 1
    assert [(r.group, r.value, r.start_ms) for r in few.flush()] == [
        ({"user": "x"}, 1.0, 0),
        ({"user": "y"}, 1.0, 5000),
    ]


def test_aliases_chain_and_generate(tmp_path: Path) -> None:
    text = """\
title: a then b on one address
id: 5b8a1f7e-2222-4c1a-9e55-000000000001
name: pair
correlation:
  type: temporal_ordered
  rules: [a, b]
  aliases:
    address: {a: source, b: destination}
  group-by: [address]
  timespan: 10s
---
title: two pairs
id: 5b8a1f7e-2222-4c1a-9e55-000000000002
correlation:
  type: event_count
  rules: [pair]
  group-by: [address]
  timespan: 1m
  condition: {gte: 2}
"""
    s = stream(tmp_path, text)
    for rule, seconds, fields in [
        ("a", 0, {"source": "10.0.0.1"}),
        ("b", 1, {"destination": "10.0.0.1"}),
        ("a", 2, {"source": "10.0.0.2"}),
        ("b", 3, {"destination": "10.0.0.1"}),  # other address than the open a: nothing
        ("a", 4, {"source": "10.0.0.1"}),
        ("b", 5, {"destination": "10.0.0.1"}),
    ]:
        s.hit(rule, seconds, **fields)
    results = s.flush()
    # the inner correlation does not alert (generate false by default); the outer one does
    assert [(r.correlation.title, r.group, r.start_ms, r.end_ms) for r in results] == [
        ("two pairs", {"address": "10.0.0.1"}, 1000, 5000)
    ]
    # every hit of each inner window contributes, the lone b at 3 s included
    assert [hit.payload for hit in results[0].base_hits()] == [1, 2, 4, 5, 6]


def test_state_is_bounded_and_evictions_counted(tmp_path: Path) -> None:
    limits = Limits(max_groups=3, max_group_hits=2, max_hits=100)
    s = stream(tmp_path, corr("event_count", "a", "condition: {gte: 3}"), limits=limits)
    for index in range(5):
        s.hit("a", 0.1 * index, user=f"u{index}")  # five groups: two evicted
    for index in range(3):
        s.hit("a", 1 + 0.1 * index, user="u4")  # u4 gets four hits: two kept, two dropped
    s.flush()
    stats = s.correlator.stats.by_correlation
    (only,) = stats.values()
    assert (only.groups_evicted, only.hits_evicted, only.results) == (2, 4, 0)
