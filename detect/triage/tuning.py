"""Tuning without editing rules (DESIGN §12): a YAML file that disables rules, overrides their
level, and names exclusions, which are standard Sigma filter documents (docs/triage.md):

    disable:                      # Sigma rule ids that never run here
      - 5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c03
    levels:                       # a rule's level in this environment
      e5f95348-18ca-4a47-ad6c-2637de51d0f8: informational
    filters:                      # Sigma filter files or folders (relative to this file)
      - baseline-filters.yml

Every problem is reported with `file:line` and the file is refused whole (`TuningError`); a
rule id the loaded rules do not have is reported with the rule errors, not fatal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from detect.core.errors import DetectError, Location
from detect.sigma.model import RuleError, RuleSet
from detect.triage.levels import LEVELS

KEYS = ("disable", "levels", "filters")


class TuningError(DetectError):
    """A tuning file that cannot be used: every problem, each with its `file:line`."""

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{where}: {why}" for where, why in problems))


@dataclass(frozen=True)
class Tuning:
    path: Path
    disable: dict[str, Location]  # rule id -> where the file names it
    levels: dict[str, tuple[str, Location]]
    filters: tuple[Path, ...]

    def apply(self, rules: RuleSet) -> RuleSet:
        """The rules as tuned: disabled ones left out, levels overridden; an id the rules do
        not have is a rule error (with the tuning file's line)."""
        ids = {rule.id for rule in rules.rules}
        errors = list(rules.errors)
        named = [*self.disable.items(), *((k, where) for k, (_, where) in self.levels.items())]
        for rule_id, where in named:
            if rule_id not in ids:
                errors.append(RuleError(f"tuning names rule {rule_id}, not loaded", where))
        kept = [
            dataclasses.replace(rule, level=self.levels[rule.id][0])
            if rule.id in self.levels
            else rule
            for rule in rules.rules
            if rule.id not in self.disable
        ]
        return dataclasses.replace(rules, rules=kept, errors=errors)


def load_tuning(path: Path) -> Tuning:
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except OSError as error:
        raise TuningError([(Location(str(path)), str(error.strerror or error))]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise TuningError([(Location(str(path), line), f"not YAML: {error}")]) from None
    return _read(path, root)


def _at(path: Path, node: Node) -> Location:
    return Location(str(path), node.start_mark.line + 1)


def _read(path: Path, root: Node | None) -> Tuning:
    problems: list[tuple[Location, str]] = []
    disable: dict[str, Location] = {}
    levels: dict[str, tuple[str, Location]] = {}
    filters: list[Path] = []
    if root is None:
        return Tuning(path, disable, levels, ())
    if not isinstance(root, MappingNode):
        raise TuningError([(_at(path, root), "expected a mapping of disable, levels, filters")])
    for key, value in root.value:
        name = key.value if isinstance(key, ScalarNode) else None
        if name == "disable":
            for item in _scalars(path, value, problems):
                disable[item.value] = _at(path, item)
        elif name == "levels":
            _levels(path, value, levels, problems)
        elif name == "filters":
            for item in _scalars(path, value, problems):
                found = (path.parent / item.value).resolve()
                if not found.exists():
                    problems.append((_at(path, item), f"filter path {item.value} does not exist"))
                filters.append(found)
        else:
            problems.append((_at(path, key), f"unknown key {name!r} (expected {', '.join(KEYS)})"))
    if problems:
        raise TuningError(problems)
    return Tuning(path, disable, levels, tuple(filters))


def _scalars(path: Path, node: Node, problems: list[tuple[Location, str]]) -> list[ScalarNode]:
    if not isinstance(node, SequenceNode):
        problems.append((_at(path, node), "expected a list"))
        return []
    found = []
    for item in node.value:
        if isinstance(item, ScalarNode) and item.value:
            found.append(item)
        else:
            problems.append((_at(path, item), "expected a rule id or a path"))
    return found


def _levels(
    path: Path,
    node: Node,
    levels: dict[str, tuple[str, Location]],
    problems: list[tuple[Location, str]],
) -> None:
    if not isinstance(node, MappingNode):
        problems.append((_at(path, node), "expected a mapping of rule id to level"))
        return
    for key, value in node.value:
        level = value.value if isinstance(value, ScalarNode) else None
        if level not in LEVELS:
            problems.append(
                (_at(path, value), f"level {level!r} is not one of {', '.join(LEVELS)}")
            )
            continue
        levels[str(key.value)] = (str(level), _at(path, key))
