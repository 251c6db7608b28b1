"""Sigma tags → ATT&CK techniques and tactics, across ATT&CK releases.

`resolve_tags` reads a rule's tags: `attack.t1059.004` and `attack.t1059` name techniques,
`attack.ta0005`, `attack.stealth`, `attack.defense_evasion` (the 18.1 name) name tactics,
`attack.g0001` / `attack.s0001` (groups, software) and the other namespaces (`cve.`, `car.`,
`detection.`, `tlp.` …) are accepted and set aside. A revoked technique resolves to its
replacement and says so; an unknown ATT&CK id is an error. Whether every technique sits under
one of the rule's tactics is `detect validate`'s check (`lint.py`). `threat_fields` turns a
resolution into ECS `threat.*` fields for an alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from detect.attack.catalog import Catalog, Tactic, Technique, load_catalog

ERROR = "error"
WARNING = "warning"
INFO = "info"
FRAMEWORK = "MITRE ATT&CK"
TECHNIQUE_TAG = re.compile(r"t\d{4}(?:\.\d{3})?")
TACTIC_ID_TAG = re.compile(r"ta\d{4}")
GROUP_OR_SOFTWARE_TAG = re.compile(r"[gs]\d{4}")


@dataclass(frozen=True, slots=True)
class TagProblem:
    tag: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.tag}: {self.message}"


@dataclass(frozen=True, slots=True)
class ResolvedTechnique:
    """A technique tag; `technique` is the replacement when `original` was revoked."""

    tag: str
    original: str
    technique: Technique
    note: str = ""

    @property
    def replaced(self) -> bool:
        return self.original != self.technique.id


@dataclass(frozen=True, slots=True)
class ResolvedTactic:
    tag: str
    tactic: Tactic
    note: str = ""


@dataclass(frozen=True, slots=True)
class TagResolution:
    techniques: tuple[ResolvedTechnique, ...] = ()
    tactics: tuple[ResolvedTactic, ...] = ()
    ignored: tuple[str, ...] = ()
    problems: tuple[TagProblem, ...] = ()

    @property
    def errors(self) -> tuple[TagProblem, ...]:
        return tuple(p for p in self.problems if p.severity == ERROR)

    @property
    def warnings(self) -> tuple[TagProblem, ...]:
        return tuple(p for p in self.problems if p.severity == WARNING)

    @property
    def technique_ids(self) -> tuple[str, ...]:
        return tuple(r.technique.id for r in self.techniques)

    @property
    def tactic_ids(self) -> tuple[str, ...]:
        return tuple(r.tactic.id for r in self.tactics)


class _Resolver:
    """Accumulates the outcome of one rule's tags (duplicates resolve once)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.techniques: dict[str, ResolvedTechnique] = {}
        self.tactics: dict[str, ResolvedTactic] = {}
        self.ignored: list[str] = []
        self.problems: list[TagProblem] = []

    def add(self, tag: str) -> None:
        namespace, _, name = tag.strip().lower().partition(".")
        if namespace != "attack" or GROUP_OR_SOFTWARE_TAG.fullmatch(name):
            self.ignored.append(tag)
        elif TECHNIQUE_TAG.fullmatch(name):
            self.add_technique(tag, name.upper())
        else:
            self.add_tactic(tag, name)

    def add_technique(self, tag: str, technique_id: str) -> None:
        technique = self.catalog.technique(technique_id)
        if technique is None:
            self.problem(tag, ERROR, f"unknown ATT&CK technique {technique_id}")
            return
        note = _technique_note(self.catalog, technique)
        if technique.status == "revoked":
            self.problem(tag, WARNING, note)
            technique = self.catalog.techniques[technique.replaced_by[0]]
        elif technique.status == "deprecated":
            self.problem(tag, WARNING, note)
        resolved = ResolvedTechnique(tag, technique_id, technique, note)
        self.techniques.setdefault(technique.id, resolved)

    def add_tactic(self, tag: str, name: str) -> None:
        tactic = self.catalog.tactic(name)
        if tactic is None:
            kind = "tactic" if TACTIC_ID_TAG.fullmatch(name) else "tag"
            self.problem(tag, ERROR, f"unknown ATT&CK {kind} {name!r}")
            return
        note = ""
        if self.catalog.is_legacy_tactic_name(name):
            note = (
                f"{name!r} is the ATT&CK {self.catalog.legacy_version} name of {tactic.id}, "
                f"called {tactic.short_name!r} ({tactic.name}) in {self.catalog.version}"
            )
            self.problem(tag, INFO, note)
        self.tactics.setdefault(tactic.id, ResolvedTactic(tag, tactic, note))

    def problem(self, tag: str, severity: str, message: str) -> None:
        self.problems.append(TagProblem(tag, severity, message))

    def result(self) -> TagResolution:
        return TagResolution(
            techniques=tuple(self.techniques.values()),
            tactics=tuple(self.tactics.values()),
            ignored=tuple(self.ignored),
            problems=tuple(self.problems),
        )


def _technique_note(catalog: Catalog, technique: Technique) -> str:
    named = f"{technique.id} ({technique.name})"
    targets = [catalog.techniques[t] for t in technique.replaced_by]
    listed = ", ".join(f"{t.id} ({t.name})" for t in targets)
    if technique.status == "revoked":
        return f"{named} is revoked in ATT&CK {catalog.version}; replaced by {listed}"
    if technique.status == "deprecated":
        advice = f"; MITRE suggests {listed}" if listed else ""
        return f"{named} is deprecated in ATT&CK {catalog.version}{advice}"
    return ""


def resolve_tags(tags: Iterable[str], catalog: Catalog | None = None) -> TagResolution:
    """Resolve one rule's Sigma tags against the catalog (the built-in one by default)."""
    resolver = _Resolver(catalog or load_catalog())
    for tag in tags:
        resolver.add(tag)
    return resolver.result()


def threat_fields(resolution: TagResolution, catalog: Catalog | None = None) -> dict[str, Any]:
    """ECS `threat.*` fields (dotted keys) for an alert of a rule with these tags.

    Sub-techniques fill `threat.technique.subtechnique.*` and put their parent technique in
    `threat.technique.*`. Tactics are the rule's tactic tags, or the techniques' own tactics
    (in matrix order) when the rule names none. Empty when the rule has no ATT&CK tags.
    """
    catalog = catalog or load_catalog()
    techniques = [r.technique for r in resolution.techniques]
    tactics = [r.tactic for r in resolution.tactics] or _tactics_of(catalog, techniques)
    if not techniques and not tactics:
        return {}
    parents = _unique(catalog.techniques[t.parent] if t.parent else t for t in techniques)
    subs = [t for t in techniques if t.parent]
    fields: dict[str, Any] = {"threat.framework": FRAMEWORK}
    fields.update(_listed("threat.tactic", tactics))
    fields.update(_listed("threat.technique", parents))
    fields.update(_listed("threat.technique.subtechnique", subs))
    return fields


def _tactics_of(catalog: Catalog, techniques: list[Technique]) -> list[Tactic]:
    ids = {tactic_id for t in techniques for tactic_id in t.tactics}
    return [t for t in catalog.tactics if t.id in ids]


def _unique(techniques: Iterable[Technique]) -> list[Technique]:
    return list({t.id: t for t in techniques}.values())


def _listed(prefix: str, items: list[Technique] | list[Tactic]) -> dict[str, list[str]]:
    if not items:
        return {}
    return {
        f"{prefix}.id": [i.id for i in items],
        f"{prefix}.name": [i.name for i in items],
        f"{prefix}.reference": [i.url for i in items],
    }
