"""The engine: which rules see which view, once per event; the index never changes a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.core.resources import ROOT
from detect.matching.chains import CHAIN_KEY, compile_chain
from detect.matching.dispatch import view_of, without_common_syscalls
from detect.matching.engine import Engine
from detect.proctree.tree import ProcessTree
from detect.sigma.load import load_detections
from detect.sigma.model import Rule
from detect.views.category import category_views
from detect.views.record import record_views
from tests.capture_events import REPO, by_serial, capture_events, capture_events_at

SIGMA = ROOT.parent / "shared" / "sigma"
CAPTURE_DIRS = ("tests/auditd/captures", "tests/detections/captures", "tests/sigma/captures")
ALL_CAPTURES = tuple(
    f"{folder}/{path.stem}"
    for folder in CAPTURE_DIRS
    for path in sorted((REPO / folder).glob("*.log"))
)

RULES = """\
title: Echo argument world
id: 00000000-0000-4000-8000-000000000001
logsource: {product: linux, service: auditd}
detection:
  sel: {type: EXECVE, a2: world}
  condition: sel
---
title: Any record of an echo run
id: 00000000-0000-4000-8000-000000000002
logsource: {product: linux, service: auditd}
detection:
  sel: {exe|endswith: /echo}
  condition: sel
---
title: Process created in the capture dir
id: 00000000-0000-4000-8000-000000000003
logsource: {product: linux, category: process_creation}
detection:
  sel: {CurrentDirectory: /tmp/detect-capture, CommandLine|contains: hello}
  condition: sel
---
title: Syscall argument must not leak to PATH records
id: 00000000-0000-4000-8000-000000000004
logsource: {product: linux, service: auditd}
detection:
  sel: {type: PATH, a2: '241'}
  condition: sel
---
title: sshd logs are not audit data
id: 00000000-0000-4000-8000-000000000005
logsource: {product: linux, service: sshd}
detection:
  sel: {exe: x}
  condition: sel
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = tmp_path_factory.mktemp("rules") / "rules.yml"
    path.write_text(RULES)
    rules = load_detections([path], default=False)
    assert not rules.errors
    return Engine(rules.rules)


def matched_titles(engine: Engine, serial: int, capture: str) -> list[str]:
    event = by_serial(capture_events(capture), serial)
    return [match.rule.title for match in engine.evaluate(event)]


def test_a_record_rule_alerts_once_per_event(engine: Engine) -> None:
    titles = matched_titles(engine, 2119, "execve_args")
    assert titles.count("Any record of an echo run") == 1  # six records match, one alert
    assert "Echo argument world" in titles
    assert "Process created in the capture dir" in titles


def test_near_miss(engine: Engine) -> None:
    assert matched_titles(engine, 2118, "execve_args") == []  # bash running the script


def test_syscall_arguments_stay_on_the_syscall_record(engine: Engine) -> None:
    # openat with flags 0x241: SYSCALL a2=241, and two PATH records
    assert matched_titles(engine, 2135, "file_ops") == []


def test_other_logsources_are_listed_not_run(engine: Engine) -> None:
    assert [rule.title for rule in engine.not_applicable] == ["sshd logs are not audit data"]


def brute_force(rules: list[Rule], capture: str) -> set[tuple[int, str]]:
    """Every rule on every whole (dict) view it may see, no index, no lazy view; the events
    go through a process tree first, and chain rules must find their chain."""
    found: set[tuple[int, str]] = set()
    tree = ProcessTree()
    chains = {
        id(rule): compile_chain(rule.sigma.custom_attributes[CHAIN_KEY], str(view_of(rule)))
        for rule in rules
        if CHAIN_KEY in rule.sigma.custom_attributes
    }
    for event in capture_events_at(capture):
        tree.observe(event)
        categories = category_views(event)
        for rule in rules:
            kind = view_of(rule)
            if kind == "auditd":
                hit = any(rule.match(view) for view in record_views(event))
            else:
                hit = kind in categories and rule.match(categories[kind])
            if hit and id(rule) in chains:
                hit = chains[id(rule)].find(event.process) is not None
            if hit:
                found.add((event.serial, rule.id))
    return found


@pytest.fixture(scope="module")
def all_rules() -> list[Rule]:
    if not SIGMA.is_dir():
        pytest.skip("../shared/sigma is absent (clone the repository with shared/ beside it)")
    parts = ("rules/linux", "rules-threat-hunting/linux", "rules-emerging-threats")
    return load_detections([SIGMA / part for part in parts], default=True).rules


@pytest.mark.parametrize("capture", ALL_CAPTURES)
def test_index_and_lazy_views_give_the_brute_force_result(
    all_rules: list[Rule], capture: str
) -> None:
    engine = Engine(all_rules)
    fast = {
        (event.serial, match.rule.id)
        for event in capture_events_at(capture)
        for match in engine.evaluate(event)
    }
    assert fast == brute_force([r for r in all_rules if view_of(r)], capture)
    if not capture.startswith("tests/auditd/") or capture.endswith(("useradd", "execve_args")):
        assert fast, "rules fire on this capture: an empty result means a broken test"


def test_default_rules_are_the_shipped_detections(tmp_path: Path) -> None:
    shipped = load_detections([], default=True)
    only = load_detections([], default=False)
    assert only.rules == only.correlations == only.errors == []
    assert shipped.errors == [] and shipped.correlations
    files = {f.resolve() for f in (ROOT / "detections").rglob("*.yml")}
    rules = {Path(r.source.source).resolve() for r in shipped.rules}
    assert all(c.source is not None for c in shipped.correlations)
    correlations = {Path(c.source.path).resolve() for c in shipped.correlations if c.source}
    assert rules | correlations == files  # each file a rule or a correlation (or both)


CARRIED = """\
title: Working directory on any record
logsource: {product: linux, service: auditd}
detection: {sel: {cwd|endswith: /detect-capture}, condition: sel}
---
title: Created file on a PATH record
logsource: {product: linux, service: auditd}
detection: {sel: {type: PATH, nametype: CREATE, name|endswith: /created.txt}, condition: sel}
---
title: Command line on any record
logsource: {product: linux, service: auditd}
detection: {sel: {proctitle|contains: capture.py}, condition: sel}
---
title: Key of the event on a PATH record
logsource: {product: linux, service: auditd}
detection: {sel: {type: PATH, key: cap_file, ogid: '0'}, condition: sel}
---
title: Syscall argument on any record
logsource: {product: linux, service: auditd}
detection: {sel: {a2: '241'}, condition: sel}
---
title: Working directory of an event with a key
logsource: {product: linux, service: auditd}
detection: {sel: {key: cap_file, cwd|endswith: /detect-capture}, condition: sel}
---
title: Items of a SYSCALL record
logsource: {product: linux, service: auditd}
detection: {sel: {type: SYSCALL, items: '2', SYSCALL: openat, UID: root}, condition: sel}
"""


def test_rules_on_the_fields_auxiliary_records_carry_fire(tmp_path: Path) -> None:
    """The engine skips the fields an auxiliary record's type never carries, reads its
    context from the SYSCALL record once per event: every field such a record does carry,
    or takes from the context, still makes a rule fire (openat O_CREAT: CWD, two PATH,
    PROCTITLE), and the fields of the SYSCALL record still match on it."""
    path = tmp_path / "carried.yml"
    path.write_text(CARRIED)
    rules = load_detections([path], default=False)
    engine = Engine(rules.rules)
    titles = matched_titles(engine, 2135, "file_ops")
    assert sorted(titles) == sorted(rule.title for rule in rules.rules)


COMMON = """\
title: Created file by name
logsource: {product: linux, service: auditd}
detection:
  sel: {type: PATH, SYSCALL: [open, openat], name|startswith: /tmp/detect-capture/cr}
  condition: sel
---
title: Opens refused
logsource: {product: linux, service: auditd}
detection: {sel: {type: SYSCALL, SYSCALL: openat, exit: -13}, condition: sel}
---
title: Opens of anything by name, or any creat
logsource: {product: linux, service: auditd}
detection:
  by_name: {SYSCALL: openat, name|endswith: .txt}
  created: {SYSCALL: creat}
  condition: 1 of *
---
title: Opens failing
logsource: {product: linux, service: auditd}
detection: {sel: {type: SYSCALL, SYSCALL: openat, exit|lt: 0}, condition: sel}
"""


def test_rules_naming_common_syscalls_are_indexed_by_another_field(tmp_path: Path) -> None:
    """A rule is filed under its `name` (or its exit number) rather than under `openat`, which
    most events have, nor under `type`, which every record of its index has; a rule with
    nothing else to file it under keeps its syscalls, and so does an OR branch with no other
    field. The rules still fire (openat O_CREAT of created.txt)."""
    path = tmp_path / "common.yml"
    path.write_text(COMMON)
    rules = load_detections([path], default=False).rules
    engine = Engine(rules)
    by_name, refused = engine.type_indexes["PATH"], engine.type_indexes["SYSCALL"]
    assert [field for field, _ in by_name.clause_of[0] or {}] == ["name"]
    assert [field for field, _ in refused.clause_of[0] or {}] == ["exit"]
    assert [field for field, _ in refused.clause_of[1] or {}] == ["SYSCALL"]
    assert engine.any_type is not None
    assert {field for field, _ in engine.any_type.clause_of[0] or {}} == {"name", "SYSCALL"}
    assert without_common_syscalls(rules[3].plan) == rules[3].plan
    titles = matched_titles(engine, 2135, "file_ops")
    assert sorted(titles) == ["Created file by name", "Opens of anything by name, or any creat"]


PROBED_ONLY = """\
title: File created by bash in the capture dir
logsource: {product: linux, category: file_event}
detection:
  sel: {TargetFilename|startswith: /tmp/detect-capture/, Image|endswith: /bash, User: root}
  condition: sel
"""


def test_a_category_rule_reading_probed_fields_needs_no_whole_view(tmp_path: Path) -> None:
    path = tmp_path / "probed.yml"
    path.write_text(PROBED_ONLY)
    engine = Engine(load_detections([path], default=False).rules)
    event = by_serial(capture_events("file_ops"), 2135)
    assert [match.view for match in engine.evaluate(event)] == ["file_event"]
    assert event.category_views is None
