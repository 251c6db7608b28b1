"""Triage's parts on their own: scoring (the worked examples of docs/triage.md), grouping of a
daemon's children, deduplication windows, bounded incident state, and tuning files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detect.sigma.load import load_detections
from detect.triage.dedup import Deduplicator
from detect.triage.grouping import incident_key
from detect.triage.incidents import CLOSED, OPEN, RAISED, IncidentTracker, RuleEntry
from detect.triage.score import IncidentScore, RuleHits, level_of, score
from detect.triage.settings import TriageSettings
from detect.triage.stage import TriageStage, tactic_order
from detect.triage.tuning import TuningError, load_tuning
from tests.triage.helpers import alert, rule

ORDER = tactic_order()
EXECUTION, PERSISTENCE, C2 = "TA0002", "TA0003", "TA0011"


def process(pid: int, executable: str, start: str) -> dict[str, object]:
    """A process of an ancestry, as detect.proctree.fields.describe gives it."""
    return {"pid": pid, "executable": executable, "start": start, "entity_id": f"e{pid}"}


SYSTEMD = process(1, "/usr/lib/systemd/systemd", "t0")
NGINX = process(10, "/usr/sbin/nginx", "t1")
WORKER = process(11, "/usr/sbin/nginx", "t2")


def hits(
    level: str, count: int, tactics: tuple[str, ...], kind: str = "rule", at: int = 0
) -> RuleHits:
    return RuleHits(level, count, kind, (), tactics, at)


def test_scoring_worked_examples() -> None:
    one = [hits("medium", 1, (EXECUTION,))]
    assert score(one, ORDER) == 6.0 and level_of(one, 6.0) == "medium"
    repeated = [hits("high", 3, (EXECUTION, C2))]  # one rule, three times
    assert score(repeated, ORDER) == 23.1
    assert level_of(repeated, 23.1) == "high"  # one rule keeps its own level
    chain = [hits("medium", 1, (EXECUTION,), at=1), hits("high", 4, (C2,), at=2)]
    assert score(chain, ORDER) == 29.0
    assert level_of(chain, 29.0) == "critical"  # two rules, score >= 20: raised a step
    backwards = [hits("medium", 1, (C2,), at=1), hits("high", 4, (EXECUTION,), at=2)]
    assert score(backwards, ORDER) == 26.0  # no kill-chain progression
    correlated = [hits("medium", 1, (PERSISTENCE,), "correlation")]
    assert score(correlated, ORDER) == 11.0
    informational = [hits("informational", 50, (EXECUTION,))]
    assert score(informational, ORDER) == 0.0 and level_of(informational, 0.0) == "informational"


def test_a_daemons_unrelated_children_stay_apart_and_its_shells_join() -> None:
    info = rule("high")
    backup = [SYSTEMD, NGINX, WORKER, process(20, "/usr/bin/tar", "t3")]
    rotate = [SYSTEMD, NGINX, process(21, "/usr/sbin/logrotate", "t4")]
    shell1 = [SYSTEMD, NGINX, WORKER, process(30, "/usr/bin/dash", "t5")]
    shell2 = [SYSTEMD, NGINX, WORKER, process(31, "/usr/bin/dash", "t6")]
    keys = [incident_key(alert(info, 1, chain=c)) for c in (backup, rotate, shell1, shell2)]
    assert keys[0] != keys[1]
    assert keys[2] == keys[3] and keys[2] not in keys[:2]
    other_service = [SYSTEMD, process(40, "/usr/sbin/nginx", "t9"), *shell1[2:]]
    assert incident_key(alert(info, 1, chain=other_service)) != keys[2]
    assert incident_key(alert(info, 1, session="7")) != incident_key(alert(info, 1, session="8"))


def test_dedup_window_and_count() -> None:
    out: list[object] = []
    dedup = Deduplicator(out.append, window_ms=1000)
    info = rule("medium")
    for time_ms in (0, 100, 900):
        dedup.push(alert(info, time_ms, serial=time_ms))
    dedup.push(alert(info, 1500, serial=1500))  # past the window: a new group
    dedup.flush()
    _, fold, second = out
    assert fold.fold.count == 3 and fold.fold.first_ms == 0 and fold.fold.last_ms == 900  # type: ignore[attr-defined]
    assert [e["serial"] for e in fold.events] == [0, 100, 900]  # type: ignore[attr-defined]
    assert second.time_ms == 1500 and second.fold is None  # type: ignore[attr-defined]
    assert dedup.stats.folded == 2 and dedup.stats.updates == 1


def test_incident_state_is_bounded_and_evictions_counted() -> None:
    seen: list[tuple[str, str]] = []
    tracker = IncidentTracker(lambda i, c: seen.append((i.id, c)), ORDER, max_open=2)
    for session in ("1", "2", "3"):
        tracker.push(alert(rule("medium"), 1000, session=session))
    assert len(tracker.open) == 2 and tracker.stats.closed_early == 1
    assert [c for _, c in seen] == [OPEN, OPEN, CLOSED, OPEN]


def test_incidents_rise_and_close_after_the_quiet_gap() -> None:
    seen: list[str] = []
    tracker = IncidentTracker(lambda i, c: seen.append(c), ORDER, gap_ms=1000)
    tracker.push(alert(rule("low", "a"), 0, session="1"))
    tracker.push(alert(rule("high", "b", (C2,)), 10, session="1"))
    tracker.advance("h1", 500)
    assert seen == [OPEN, RAISED]
    tracker.advance("h1", 1011)
    assert seen == [OPEN, RAISED, CLOSED]


def test_stage_counts_every_hit_and_writes_from_min_level() -> None:
    written: list[object] = []
    stage = TriageStage(written.append, settings=TriageSettings(min_level="medium"))
    for level, time_ms in (("informational", 0), ("low", 1), ("medium", 2), ("high", 3)):
        stage.push(alert(rule(level, level), time_ms, session="1", serial=time_ms))
    stage.flush()
    assert [a.rule.level for a in written] == ["medium", "high"]  # type: ignore[attr-defined]
    summary = stage.summary()
    assert summary["hits_by_level"] == {"informational": 1, "low": 1, "medium": 1, "high": 1}
    # low + medium + high in one session, one tactic: 1 + 4 + 9 + 2 = 16, three rules over one
    # tactic and a score under 20: not raised, the highest level stays
    assert summary["incidents"]["by_level"] == {"high": 1}
    assert summary["tags_by_rule"] == {"Rule informational (informational)": 1}


def test_tuning_file_disables_overrides_and_filters(tmp_path: Path) -> None:
    rules = load_detections()
    some, other = rules.rules[0], rules.rules[1]
    (tmp_path / "filters").mkdir()
    tuning = tmp_path / "tuning.yml"
    tuning.write_text(
        f"disable:\n  - {some.id}\n  - no-such-rule\nlevels:\n  {other.id}: informational\n"
        "filters:\n  - filters\n"
    )
    loaded = load_tuning(tuning)
    tuned = loaded.apply(rules)
    assert some.id not in {r.id for r in tuned.rules}
    assert next(r for r in tuned.rules if r.id == other.id).level == "informational"
    assert any("no-such-rule" in str(e) and ":3" in str(e) for e in tuned.errors)
    assert loaded.filters == ((tmp_path / "filters").resolve(),)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("disable: nope\n", 1, "expected a list"),
        ("levels:\n  abc: severe\n", 2, "level 'severe' is not one of"),
        ("disabled:\n  - x\n", 1, "unknown key 'disabled'"),
        ("filters:\n  - missing.yml\n", 2, "filter path missing.yml does not exist"),
        ("levels: [\n", 2, "not YAML"),
    ],
)
def test_tuning_file_errors_say_where(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = tmp_path / "tuning.yml"
    path.write_text(text)
    with pytest.raises(TuningError) as raised:
        load_tuning(path)
    ((where, why),) = raised.value.problems
    assert where.line == line and reason in why and where.source == str(path)


def _formula_score(rules: list[RuleEntry], order: dict[str, int]) -> float:
    """docs/triage.md's formula, written out plainly: the oracle of the incremental scorer."""
    from detect.triage import score as s

    counted = [h for h in rules if h.level != "informational"]
    total = sum(s.rule_points(h) for h in counted)
    techniques = {t for h in counted for t in h.techniques}
    tactics = {t for h in counted for t in h.tactics}
    total += s.TECHNIQUE_POINTS * len(techniques) + s.TACTIC_POINTS * len(tactics)
    seen = [order[t] for h in sorted(counted, key=lambda h: h.first_ms) for t in h.tactics]
    total += s.PROGRESSION_POINTS * max(s.progression(seen) - 1, 0)
    total += s.CORRELATION_POINTS * sum(h.kind == "correlation" for h in counted)
    total += s.CHAIN_POINTS * sum(h.kind == "chain" for h in counted)
    return round(total, 1)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # which rule (a new one joins with its fixed parts)
            st.sampled_from(["informational", "low", "medium", "high", "critical"]),
            st.sampled_from(["rule", "chain", "correlation"]),
            st.lists(st.sampled_from([EXECUTION, PERSISTENCE, C2, "TA0007"]), max_size=3),
            st.integers(0, 100),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_an_incidents_score_as_alerts_come_is_the_formulas(
    alerts: list[tuple[int, str, str, list[str], int]],
) -> None:
    """As the tracker keeps them: a rule's entry made when it joins, its count raised in place
    by each later alert (what the scorer caches is the entries, never their counts)."""
    scoring = IncidentScore()
    entries: dict[int, RuleEntry] = {}
    for which, level, kind, tactics, at in alerts:
        entry = entries.get(which)
        if entry is None:
            entry = entries[which] = RuleEntry(
                str(which), "t", level, kind, (f"T{which}",), tuple(tactics), {}, at, at
            )
        entry.count += 1
        current = list(entries.values())
        points = _formula_score(current, ORDER)
        found = scoring.update(current, ORDER)
        assert found == (points, level_of(current, points))


def test_two_processes_of_one_pid_are_two_nodes_of_an_incident() -> None:
    """A PID reused within an incident (neither process's start seen: first sightings only)
    gives two processes of its tree, told apart by their entity_id."""
    tracker = IncidentTracker(lambda i, c: None, ORDER)
    shell = {"pid": 5, "executable": "/usr/bin/bash", "first_seen": "t0", "entity_id": "e5"}
    for entity, executable in (("a", "/tmp/x"), ("b", "/tmp/y")):
        child = {"pid": 9, "executable": executable, "first_seen": "t1", "entity_id": entity}
        tracker.push(alert(rule("medium", executable), 10, session="1", chain=[shell, child]))
    (incident,) = tracker.open.values()
    assert {n: p["executable"] for n, p in incident.nodes.items()} == {
        "e5": "/usr/bin/bash",
        "a": "/tmp/x",
        "b": "/tmp/y",
    }
    assert incident.nodes["a"]["parent"] == incident.nodes["b"]["parent"] == "e5"
