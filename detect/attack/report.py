"""Text for `detect attack coverage` and `detect attack gaps`: lists of lines, no I/O.

Both are grouped by tactic in matrix order; a technique under several tactics is listed under
each (as in the matrix). Names are padded into a column so ids, names and what follows line up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from detect.attack.catalog import LINUX, AuditdChannel, Catalog, Tactic, Technique
from detect.attack.coverage import Gap, TacticCoverage

ID_WIDTH = 10
NAME_WIDTH = 44
SOURCE_WIDTH = 20  # auditd:CONFIG_CHANGE
INDENT = "  "
THROUGH_SUBS = "(through its sub-techniques)"
NO_CHANNEL_TEXT = ("", "None")


def coverage_lines(
    rows: Sequence[TacticCoverage],
    by_technique: Mapping[str, Sequence[str]],
    catalog: Catalog,
    detections: int,
) -> list[str]:
    """The coverage table: per tactic, the covered techniques and the detections naming them."""
    tagged = len(_titles(by_technique))
    lines = [
        f"ATT&CK {catalog.version} coverage of Linux techniques and sub-techniques by "
        f"{detections} enabled detections ({tagged} with technique tags)",
    ]
    for row in rows:
        if row.total or row.covered:
            lines += ["", _tactic_heading(row.tactic, f"{len(row.covered)} of {row.total} covered")]
            lines += [_covered_line(catalog, tid, by_technique) for tid in row.covered]
    lines += ["", *_coverage_totals(rows, by_technique, catalog), "", catalog.notices[0]]
    return lines


def _titles(by_technique: Mapping[str, Sequence[str]]) -> set[str]:
    return {title for titles in by_technique.values() for title in titles}


def _tactic_heading(tactic: Tactic, counts: str) -> str:
    return f"{tactic.short_name} ({tactic.id}): {counts}"


def _covered_line(
    catalog: Catalog, technique_id: str, by_technique: Mapping[str, Sequence[str]]
) -> str:
    titles = by_technique.get(technique_id)
    named = "; ".join(titles) if titles else THROUGH_SUBS
    return f"{_technique_cell(catalog.techniques[technique_id])}  {named}"


def _technique_cell(technique: Technique) -> str:
    name = technique.name
    if len(name) > NAME_WIDTH:
        name = name[: NAME_WIDTH - 1] + "…"
    return f"{INDENT}{technique.id:<{ID_WIDTH}} {name:<{NAME_WIDTH}}"


def _coverage_totals(
    rows: Sequence[TacticCoverage], by_technique: Mapping[str, Sequence[str]], catalog: Catalog
) -> list[str]:
    covered = {tid for row in rows for tid in row.covered}
    linux = [t for t in catalog.active_techniques() if LINUX in t.platforms]
    tactics = [row for row in rows if row.total]
    reached = [row for row in tactics if row.covered]
    lines = [
        f"Total: {len(covered)} of {len(linux)} Linux techniques and sub-techniques covered, "
        f"in {len(reached)} of {len(tactics)} tactics",
    ]
    elsewhere = sorted(
        tid for tid in by_technique if LINUX not in catalog.techniques[tid].platforms
    )
    if elsewhere:
        lines.append(f"Tagged but not Linux techniques (not counted): {', '.join(elsewhere)}")
    return lines


def gap_lines(found: Sequence[Gap], catalog: Catalog, tactic: Tactic | None = None) -> list[str]:
    """The gaps by tactic, each technique with the auditd channels MITRE's analytics name."""
    tactics = [tactic] if tactic else list(catalog.tactics)
    visible = len(catalog.linux_auditd_techniques())
    lines = [
        f"ATT&CK {catalog.version}: Linux techniques that MITRE's analytics see in auditd and "
        "no enabled detection covers",
    ]
    for current in tactics:
        members = [gap for gap in found if current.id in gap.technique.tactics]
        if members:
            lines += ["", _tactic_heading(current, f"{len(members)} uncovered")]
            lines += [line for gap in members for line in _gap_block(gap)]
    shown = {gap.technique.id for gap in found if not tactic or tactic.id in gap.technique.tactics}
    lines += ["", f"Total: {len(shown)} uncovered of {visible} auditd-visible Linux techniques"]
    return [*lines, "", catalog.notices[0]]


def _gap_block(gap: Gap) -> list[str]:
    head = f"{INDENT}{gap.technique.id:<{ID_WIDTH}} {gap.technique.name}"
    indent = " " * (len(INDENT) + ID_WIDTH + 1)
    return [head, *(indent + text for text in _unique(map(channel_text, gap.channels)))]


def channel_text(channel: AuditdChannel) -> str:
    """`auditd:SYSCALL       file (File Access); records: SYSCALL, PATH; syscalls: open` — MITRE's
    source and channel text, the data component, and the record types and syscalls read from
    them where the channel text does not already say them."""
    text = f"{channel.source:<{SOURCE_WIDTH}} "
    if channel.channel not in NO_CHANNEL_TEXT:
        text += f"{channel.channel} "
    text += f"({channel.data_component})"
    extra = [t for t in channel.record_types if f"auditd:{t}" != channel.source]
    if extra:
        text += f"; records: {', '.join(channel.record_types)}"
    if any(syscall not in channel.channel for syscall in channel.syscalls):
        text += f"; syscalls: {', '.join(channel.syscalls)}"
    return text


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
