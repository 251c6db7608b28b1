"""Coverage by tactic and auditd-visible gaps, from plain (title, tags) pairs."""

from __future__ import annotations

from detect.attack.catalog import load_catalog
from detect.attack.coverage import coverage_by_tactic, detections_by_technique, gaps

RULES = [
    ("Shell from web server", ["attack.execution", "attack.t1059.004"]),
    ("Audit rules deleted", ["attack.defense-evasion", "attack.t1562.012"]),
    ("Reverse shell", ["attack.execution", "attack.t1059.004", "cve.2021-4034"]),
    ("Broken tag", ["attack.t9999"]),
]


def test_detections_by_technique() -> None:
    assert detections_by_technique(RULES) == {
        "T1059.004": ["Reverse shell", "Shell from web server"],
        "T1685.004": ["Audit rules deleted"],
    }


def test_coverage_rows_in_matrix_order() -> None:
    rows = coverage_by_tactic(RULES)
    catalog = load_catalog()
    assert [r.tactic.id for r in rows] == [t.id for t in catalog.tactics]
    by_name = {r.tactic.short_name: r for r in rows}
    execution = by_name["execution"]
    assert execution.covered == ("T1059", "T1059.004")  # a covered sub-technique covers its parent
    assert execution.detections == ("Reverse shell", "Shell from web server")
    assert execution.total == len(catalog.techniques_of_tactic("TA0002", "Linux"))
    assert 0 < execution.ratio < 1
    assert by_name["defense-impairment"].covered == ("T1685", "T1685.004")
    assert by_name["stealth"].covered == ()
    assert by_name["reconnaissance"].total == 0  # PRE, not Linux
    assert by_name["reconnaissance"].ratio == 0.0


def test_coverage_all_platforms() -> None:
    linux = {r.tactic.id: r.total for r in coverage_by_tactic([])}
    everything = {r.tactic.id: r.total for r in coverage_by_tactic([], platform=None)}
    assert all(everything[k] >= linux[k] for k in linux)
    assert everything["TA0043"] > 0


def test_gaps_list_uncovered_auditd_techniques() -> None:
    catalog = load_catalog()
    all_gaps = gaps([])
    assert len(all_gaps) == len(catalog.linux_auditd_techniques())
    found = {g.technique.id: g for g in gaps(RULES)}
    closed = {g.technique.id for g in all_gaps} - set(found)
    assert closed == {"T1059", "T1059.004", "T1685", "T1685.004"}  # parents through their subs
    assert all(g.channels and "Linux" in g.technique.platforms for g in found.values())


def test_gap_names_record_types_and_syscalls() -> None:
    found = {g.technique.id: g for g in gaps([])}
    audit = found["T1685.004"]
    assert audit.sources == ("auditd:EXECVE", "auditd:FILE", "auditd:SYSCALL")
    assert audit.record_types == ("EXECVE", "SYSCALL")
    assert audit.syscalls == ("kill",)
    assert "kill syscalls targeting auditd process" in [c.channel for c in audit.channels]
    shell = found["T1059.004"]
    assert (shell.record_types, shell.syscalls) == (("SYSCALL",), ("execve",))
