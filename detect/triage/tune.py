"""`detect tune`: Sigma filter documents proposed from logs of a period known to be clean
(DESIGN §12). Every alert the baseline raised is generalised to what identifies the activity —
the rule, the executable, the parent's executable, the user and a command-line pattern (runs of
digits and hex, which change from run to run, become wildcards) — never a pid or a time; each
group of alerts becomes one filter, with a comment saying how many hits it removed. A filter
that would name nothing but the rule (no field of the activity is known) excludes the whole rule:
refused unless asked (`whole_rule`).

The filters are standard Sigma meta filters (`filter:` documents naming their rules): `--rules
FILE` or a tuning file's `filters:` applies them.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from detect.core.alert import Alert
from detect.core.timefmt import iso_ms
from detect.sigma.model import Rule
from detect.sigma.pipeline import field_mapping

RECORD_VIEW: Final = "auditd"
# Sigma names of the activity, for category views (mapped like the rules) and record views
CATEGORY_FIELDS: Final = ("Image", "ParentImage", "User", "CommandLine")
RECORD_FIELDS: Final = ("exe", "ParentImage", "UID")
VARYING: Final = re.compile(r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*")  # a token with a digit in it
NAMESPACE: Final = uuid.UUID("6a1b9f0e-3c1d-4f59-9f6e-2f8d3c2b7e11")  # ids of detect's filters


@dataclass
class Proposal:
    rule: Rule
    view: str
    selection: dict[str, str]
    hits: int = 0
    first_ms: int = 0
    last_ms: int = 0
    commands: Counter[str] = field(default_factory=Counter)

    @property
    def whole_rule(self) -> bool:
        return not self.selection


def command_pattern(command: str) -> str:
    """A command line with every token part that holds a digit (pids, ports, dates, temp-file
    suffixes, hashes) as a wildcard; Sigma's own wildcards escaped."""
    escaped = command.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return VARYING.sub("*", escaped)


def selection_of(alert: Alert, view: str, rule: Rule) -> dict[str, str]:
    activity = alert.activity
    values: tuple[str | None, ...]
    if view == RECORD_VIEW:
        values = (activity.executable, activity.parent_executable, activity.user)
        names: Iterable[str] = RECORD_FIELDS
    else:
        command = activity.command_line
        values = (
            activity.executable,
            activity.parent_executable,
            activity.user,
            None if command is None else command_pattern(command),
        )
        produced = field_mapping(rule.logsource.product, view)
        names = [n if n in produced else "" for n in CATEGORY_FIELDS]
    return {name: value for name, value in zip(names, values, strict=True) if name and value}


def propose(alerts: Iterable[Alert], rules: dict[str, Rule]) -> list[Proposal]:
    """One proposal per rule and activity of the baseline's alerts (correlations left out:
    tune their base rules)."""
    found: dict[tuple[str, str, tuple[tuple[str, str], ...]], Proposal] = {}
    for alert in alerts:
        rule = rules.get(alert.rule.id)
        if rule is None or alert.correlation is not None or not alert.events:
            continue
        view = str(alert.events[0].get("view", RECORD_VIEW))
        selection = selection_of(alert, view, rule)
        key = (rule.id, view, tuple(sorted(selection.items())))
        proposal = found.get(key)
        if proposal is None:
            proposal = found[key] = Proposal(rule, view, selection, 0, alert.time_ms, alert.time_ms)
        proposal.hits += 1
        proposal.first_ms = min(proposal.first_ms, alert.time_ms)
        proposal.last_ms = max(proposal.last_ms, alert.time_ms)
        if alert.activity.command_line:
            proposal.commands[alert.activity.command_line] += 1
    return sorted(found.values(), key=_order)


def _order(proposal: Proposal) -> tuple[int, str, list[tuple[str, str]]]:
    return -proposal.hits, proposal.rule.title, sorted(proposal.selection.items())


def filter_document(proposal: Proposal) -> dict[str, Any]:
    rule = proposal.rule
    source = rule.logsource
    logsource = {
        key: value
        for key, value in (
            ("product", source.product),
            ("category", source.category),
            ("service", source.service),
        )
        if value is not None
    }
    name = f"{rule.id}|{proposal.view}|{sorted(proposal.selection.items())}"
    what = proposal.selection.get("Image") or proposal.selection.get("exe") or "any program"
    return {
        "title": f"Baseline: {rule.title} by {what}"[:200],
        "id": str(uuid.uuid5(NAMESPACE, name)),
        "description": "Proposed by `detect tune` from a baseline known to be clean.",
        "logsource": logsource,
        "filter": {
            "rules": [rule.id],
            "selection": dict(proposal.selection),
            "condition": "not selection",
        },
    }


def render(proposals: list[Proposal], baseline: str) -> str:
    """The filter documents as one YAML file, each with its comment."""
    header = (
        f"# Sigma filters proposed by `detect tune` from {baseline}.\n"
        "# Review each before use: a filter hides every future alert it matches.\n"
    )
    parts = []
    for proposal in proposals:
        span = f"{iso_ms(proposal.first_ms)} to {iso_ms(proposal.last_ms)}"
        comment = f"# removes {proposal.hits} hits of {proposal.rule.title!r} ({span})"
        if proposal.whole_rule:
            comment += "\n# WARNING: names no activity: excludes the whole rule"
        for command, count in proposal.commands.most_common(3):
            comment += f"\n#   e.g. {count}x {command[:150]}"
        body = yaml.safe_dump(filter_document(proposal), sort_keys=False, allow_unicode=True)
        parts.append(f"{comment}\n{body}")
    return header + "---\n".join(parts)
