"""ATT&CK coverage of a set of detections, and the auditd-visible techniques none covers.

Input is plain data — `(title, tags)` pairs for the enabled detections — so this module does
not depend on the Sigma engine. A technique counts as covered when a detection is tagged with it
(a revoked id counts for its replacement) or with one of its sub-techniques; a tag naming a
parent technique does not cover its sub-techniques.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from detect.attack.catalog import LINUX, AuditdChannel, Catalog, Tactic, Technique, load_catalog
from detect.attack.tags import resolve_tags

Rules = Iterable[tuple[str, Iterable[str]]]


@dataclass(frozen=True, slots=True)
class TacticCoverage:
    """One row of the coverage table: a tactic, in matrix order."""

    tactic: Tactic
    total: int
    covered: tuple[str, ...]
    detections: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return len(self.covered) / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Gap:
    """A Linux technique that auditd can see (per MITRE's analytics) and no detection covers."""

    technique: Technique
    channels: tuple[AuditdChannel, ...]

    @property
    def record_types(self) -> tuple[str, ...]:
        return _union(c.record_types for c in self.channels)

    @property
    def syscalls(self) -> tuple[str, ...]:
        return _union(c.syscalls for c in self.channels)

    @property
    def sources(self) -> tuple[str, ...]:
        return _union((c.source,) for c in self.channels)


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))


def detections_by_technique(rules: Rules, catalog: Catalog | None = None) -> dict[str, list[str]]:
    """Technique id → sorted titles of the detections tagged with it (unknown tags skipped)."""
    catalog = catalog or load_catalog()
    found: dict[str, set[str]] = {}
    for title, tags in rules:
        for technique_id in resolve_tags(tags, catalog).technique_ids:
            found.setdefault(technique_id, set()).add(title)
    return {tid: sorted(titles) for tid, titles in sorted(found.items())}


def covered_ids(by_technique: Mapping[str, Iterable[str]], catalog: Catalog) -> set[str]:
    """Tagged techniques plus the parents of tagged sub-techniques."""
    covered = set(by_technique)
    for technique_id in by_technique:
        technique = catalog.technique(technique_id)
        if technique is not None and technique.parent:
            covered.add(technique.parent)
    return covered


def coverage_by_tactic(
    rules: Rules, catalog: Catalog | None = None, platform: str | None = LINUX
) -> list[TacticCoverage]:
    """Per tactic in matrix order: active techniques (and sub-techniques) on `platform` (None:
    all), which of them the detections cover, and the detections that do."""
    catalog = catalog or load_catalog()
    by_technique = detections_by_technique(rules, catalog)
    covered = covered_ids(by_technique, catalog)
    rows = []
    for tactic in catalog.tactics:
        members = [t.id for t in catalog.techniques_of_tactic(tactic.id, platform)]
        hits = tuple(tid for tid in sorted(members) if tid in covered)
        titles = {title for tid in hits for title in by_technique.get(tid, ())}
        rows.append(TacticCoverage(tactic, len(members), hits, tuple(sorted(titles))))
    return rows


def gaps(rules: Rules, catalog: Catalog | None = None) -> list[Gap]:
    """Linux techniques with auditd channels in MITRE's analytics that no detection covers,
    by technique id, each with the channels (record types, syscalls, MITRE's text)."""
    catalog = catalog or load_catalog()
    covered = covered_ids(detections_by_technique(rules, catalog), catalog)
    return [
        Gap(technique, technique.auditd)
        for technique in sorted(catalog.linux_auditd_techniques(), key=lambda t: t.id)
        if technique.id not in covered
    ]
