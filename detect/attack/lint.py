"""ATT&CK checks of one rule's tags, for `detect validate` and the collection-wide tests.

`rule_tag_problems` holds a rule to the catalog's ATT&CK release: an unknown ATT&CK tag, a
revoked or deprecated technique (the replacement is suggested) and a technique that sits under
none of the rule's tactic tags are errors; an older release's tactic name (`defense-evasion`)
and a rule without any ATT&CK technique tag are warnings. Tags of other namespaces
(`cve.`, `car.`, `detection.`, groups and software) are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from detect.attack.catalog import Catalog, Technique, load_catalog
from detect.attack.tags import (
    ERROR,
    INFO,
    WARNING,
    ResolvedTechnique,
    TagProblem,
    TagResolution,
    resolve_tags,
)

WHOLE_RULE = "tags"  # the `tag` of a problem about the rule's tags as a whole


def rule_tag_problems(tags: Iterable[str], catalog: Catalog | None = None) -> list[TagProblem]:
    """Errors and warnings about one rule's ATT&CK tags (empty when they are all current)."""
    catalog = catalog or load_catalog()
    resolution = resolve_tags(tags, catalog)
    problems = [p for p in resolution.problems if p.severity == ERROR]
    problems += [_outdated(catalog, r) for r in resolution.techniques if _is_outdated(catalog, r)]
    problems += [_legacy_tactic(catalog, p) for p in resolution.problems if p.severity == INFO]
    problems += _placement(resolution, catalog)
    if not resolution.techniques and not problems:
        problems.append(TagProblem(WHOLE_RULE, WARNING, "no ATT&CK technique tag"))
    return problems


def _is_outdated(catalog: Catalog, resolved: ResolvedTechnique) -> bool:
    original = catalog.technique(resolved.original)
    return original is not None and not original.is_active


def _outdated(catalog: Catalog, resolved: ResolvedTechnique) -> TagProblem:
    original = catalog.techniques[resolved.original]
    return TagProblem(resolved.tag, ERROR, f"{resolved.note}{_suggestion(catalog, original)}")


def _suggestion(catalog: Catalog, technique: Technique) -> str:
    targets = [catalog.techniques[t] for t in technique.replaced_by]
    if not targets:
        return ""
    tags = " or ".join(f"attack.{t.id.lower()}" for t in targets)
    return f": tag {tags} instead"


def _legacy_tactic(catalog: Catalog, problem: TagProblem) -> TagProblem:
    tactic = catalog.tactic(problem.tag.partition(".")[2])
    current = f"attack.{tactic.short_name}" if tactic else "the current name"
    return TagProblem(problem.tag, WARNING, f"{problem.message}: tag {current} instead")


def _placement(resolution: TagResolution, catalog: Catalog) -> list[TagProblem]:
    """Each technique must sit under one of the rule's tactic tags."""
    tagged = set(resolution.tactic_ids)
    return [
        _misplaced(catalog, resolved, tagged)
        for resolved in resolution.techniques
        if not tagged & set(resolved.technique.tactics)
    ]


def _misplaced(catalog: Catalog, resolved: ResolvedTechnique, tagged: set[str]) -> TagProblem:
    technique = resolved.technique
    wanted = _tactic_tags(catalog, technique.tactics)
    if not tagged:
        return TagProblem(resolved.tag, ERROR, f"{technique.id} needs a tactic tag: {wanted}")
    history = _history(catalog, resolved, tagged)
    message = f"{history}{technique.id} is not under the rule's tactics: tag {wanted}"
    return TagProblem(resolved.tag, ERROR, message)


def _history(catalog: Catalog, resolved: ResolvedTechnique, tagged: set[str]) -> str:
    """Where the tagged id sat in the previous release, when the rule's tactics matched then."""
    original = catalog.technique(resolved.original)
    was = tagged & set(original.legacy_tactics or ()) if original else set()
    if not was:
        return ""
    before = ", ".join(catalog.legacy_short_name(t) for t in sorted(was))
    then, now = catalog.legacy_version, catalog.version
    return f"{resolved.original} was under {before} in ATT&CK {then}; in {now} "


def _tactic_tags(catalog: Catalog, tactic_ids: Iterable[str]) -> str:
    wanted = set(tactic_ids)
    return " or ".join(f"attack.{t.short_name}" for t in catalog.tactics if t.id in wanted)
