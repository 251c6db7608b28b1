"""Chain detections: an ordered list of selections along one ancestry line.

A Sigma rule (category `process_creation` or any other category view) may add a top-level
`chain:` list. Its steps name ancestors of the event's process, oldest first; the rule's own
`detection` matches the event's process, the last hop. Each step has a `selection` (a Sigma
selection: a map of field tests, or a list of maps for OR, with the category's field names:
`Image`, `CommandLine`, `User`, `ProcessLabels`…) and may have `max_distance`: at most that
many generations between the step's process and the process right below it in the chain (the
next step's, or the event's process after the last step); 1 means a direct parent. Without it
any distance will do. Example (docs/process-tree.md):

    chain:
      - selection: {ProcessLabels: web}       # a web server (or anything below one) ...
      - selection: {Image|endswith: [/sh, /bash, /dash]}
        max_distance: 2                       # ... a shell, at most 2 generations above ...
    detection: ...                            # ... the download tool the event shows

This module parses and checks the YAML form (`parse_chain`) and evaluates a compiled chain on
the process graph (`Chain.find`); compiling each selection to a predicate is the engine's
(where the Sigma side meets the tree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from detect.core.errors import DetectError
from detect.matching.dispatch import RECORD_VIEW
from detect.proctree.fields import MAX_DEPTH, category_tree_fields
from detect.proctree.process import Process
from detect.sigma.compile import CompileError, compile_rule
from detect.sigma.model import Rule
from detect.sigma.pipeline import prepare

CHAIN_KEY = "chain"
LABEL_KEY = "process_label"
STEP_KEYS = frozenset(("selection", "max_distance"))
MAX_STEPS = 16
View = Mapping[str, object]
StepTest = Callable[[View], bool]


class ChainError(DetectError):
    """A `chain:` that is not a valid chain; `path` is where in the rule's YAML."""

    def __init__(self, reason: str, path: tuple[str | int, ...] = (CHAIN_KEY,)) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{'.'.join(str(part) for part in self.path)}: {self.reason}"


@dataclass(frozen=True)
class StepSpec:
    """One step as written: its Sigma selection and its optional maximum distance."""

    selection: Any
    max_distance: int | None


def parse_chain(data: Any) -> tuple[StepSpec, ...]:
    """The steps of a rule's `chain:` value; ChainError when malformed."""
    if not isinstance(data, list) or not data:
        raise ChainError("expected a non-empty list of steps (selection, max_distance)")
    if len(data) > MAX_STEPS:
        raise ChainError(f"at most {MAX_STEPS} steps")
    return tuple(_step(index, entry) for index, entry in enumerate(data))


def _step(index: int, entry: Any) -> StepSpec:
    path: tuple[str | int, ...] = (CHAIN_KEY, index)
    if not isinstance(entry, dict) or "selection" not in entry or not set(entry) <= STEP_KEYS:
        raise ChainError("a step is a mapping with `selection` and optional `max_distance`", path)
    selection = entry["selection"]
    if not _is_selection(selection):
        raise ChainError("selection: expected a map of field tests or a list of them", path)
    distance = entry.get("max_distance")
    if distance is not None and (type(distance) is not int or not 1 <= distance <= MAX_DEPTH):
        raise ChainError(f"max_distance: expected a whole number from 1 to {MAX_DEPTH}", path)
    return StepSpec(selection, distance)


def _is_selection(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value) and all(isinstance(key, str) for key in value)
    return isinstance(value, list) and bool(value) and all(_is_selection(v) for v in value)


@dataclass(frozen=True)
class Step:
    test: StepTest
    max_distance: int | None


@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...]  # oldest first

    def find(self, process: Process | None) -> list[Process] | None:
        """The ancestors that satisfy the steps (oldest first), or None."""
        if process is None:
            return None
        ancestors = process.ancestors(MAX_DEPTH)
        views: dict[int, View] = {}

        def view_at(position: int) -> View:
            if position not in views:
                views[position] = process_view(ancestors[position - 1])
            return views[position]

        found = self._search(len(self.steps) - 1, 0, len(ancestors), view_at)
        return [ancestors[position - 1] for position in found] if found is not None else None

    def _search(
        self, index: int, below: int, depth: int, view_at: Callable[[int], View]
    ) -> list[int] | None:
        """Positions (1 = parent) for steps 0..index, each above `below`; backtracking."""
        if index < 0:
            return []
        step = self.steps[index]
        highest = depth if step.max_distance is None else min(depth, below + step.max_distance)
        for position in range(below + 1, highest + 1):
            if step.test(view_at(position)):
                rest = self._search(index - 1, position, depth, view_at)
                if rest is not None:
                    return [*rest, position]
        return None


def process_view(process: Process) -> View:
    """What a chain step sees of an ancestor: its process fields, by category view names,
    with its own tree fields (its parent, its labels and those above it)."""
    view: dict[str, object] = {"process.pid": str(process.pid)}
    for name, value in (
        ("process.executable", process.executable),
        ("process.name", _basename(process.executable)),
        ("process.command_line", process.command_line),
        ("user.name", process.user),
        ("user.id", process.uid),
    ):
        if value is not None:
            view[name] = value
    image = process.image
    argv = image.argv if image is not None else None
    if argv is not None:
        view["process.args"] = list(argv)
    view.update(category_tree_fields(process))
    return view


def _basename(path: str | None) -> str | None:
    return path.rpartition("/")[2] if path else None


def tree_attributes(rule: Rule, kind: str) -> tuple[Chain | None, str | None]:
    """The rule's `chain:` compiled and its `process_label:` read (None when absent); a
    ChainError, with the YAML path, when either is malformed."""
    attributes = rule.attributes
    chain = compile_chain(attributes[CHAIN_KEY], kind) if CHAIN_KEY in attributes else None
    label = attributes.get(LABEL_KEY)
    if label is not None and (not isinstance(label, str) or not label):
        raise ChainError("expected a label name", (LABEL_KEY,))
    return chain, label


_COMPILED: dict[tuple[str, str], Chain] = {}  # by the `chain:` data's repr and the view
COMPILED_CHAINS: Final = 4096  # remembered chains (forgotten all at once past this)


def compile_chain(data: object, kind: str) -> Chain:
    """A rule's `chain:` compiled: each step's selection as a rule of the same logsource.
    Remembered: the checks compile a rule's chain and the engine's dispatch again (each step
    through pySigma); a chain is immutable, so rules with the same one may share it."""
    key = (repr(data), kind)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= COMPILED_CHAINS:
            _COMPILED.clear()
        found = _COMPILED[key] = _compile_chain(data, kind)
    return found


def _compile_chain(data: object, kind: str) -> Chain:
    steps = parse_chain(data)
    return Chain(
        tuple(
            Step(_step_test(spec.selection, kind, index), spec.max_distance)
            for index, spec in enumerate(steps)
        )
    )


def _step_test(selection: object, kind: str, index: int) -> StepTest:
    source = {"product": "linux", "category": kind}
    if kind == RECORD_VIEW:
        raise ChainError("chains need a category view (e.g. process_creation)")
    rule = {
        "title": f"chain step {index}",
        "logsource": source,
        "detection": {"selection": selection, "condition": "selection"},
    }
    try:
        return compile_rule(prepare(SigmaRule.from_dict(rule))).match
    except (CompileError, SigmaError) as error:
        raise ChainError(f"selection: {error}", (CHAIN_KEY, index)) from None
