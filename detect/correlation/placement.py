"""Where each correlation runs when a scan is partitioned by host (detect.pipeline.parallel).

A correlation whose `group-by` names the host (`host.name`, or an alias that reads it in every
referenced rule) never joins two hosts' hits: it runs in each host's pipeline, as a scan of one
stream runs it. Any other correlation groups across hosts (the Sigma meaning of a group-by
without the host): it runs once, after the merge, over the hits every host exports. A
correlation over correlations runs where its inputs run: the correlations linked by their
inputs run together, at the merge if any of them groups across hosts.

A host exports the hits of the base rules that merged correlations read, each with the fields
those correlations read of it (group-by values and measured fields, through their aliases):
what the windows need, with the event kept as its lines for the alert (`Contribution`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detect.matching.fields import HOST_FIELDS
from detect.sigma.correlation.model import Correlation


@dataclass(frozen=True)
class Placement:
    merged: frozenset[str]  # keys of the correlations that run after the merge
    exported: dict[str, tuple[str, ...]]  # base-rule key -> the fields its exported hits carry

    @property
    def splits(self) -> bool:
        return bool(self.merged)


def groups_by_host(correlation: Correlation) -> bool:
    """Whether one of its group-by names reads the host in every rule it references."""
    return any(
        all(correlation.field_for(rule, name) in HOST_FIELDS for rule in correlation.inputs)
        for name in correlation.group_by
    )


def place(correlations: Sequence[Correlation]) -> Placement:
    """The placement of `correlations` (resolved, in dependency order)."""
    by_key = {c.key: c for c in correlations}
    parent = {key: key for key in by_key}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for correlation in correlations:  # link each correlation to the correlations it reads
        for source in correlation.inputs:
            if source in by_key:
                parent[root(source)] = root(correlation.key)
    crossing = {root(c.key) for c in correlations if not groups_by_host(c)}
    merged = frozenset(c.key for c in correlations if root(c.key) in crossing)
    exported: dict[str, dict[str, None]] = {}
    for correlation in correlations:
        if correlation.key not in merged:
            continue
        for rule in correlation.inputs:
            if rule in by_key:
                continue
            names = exported.setdefault(rule, {})
            for name in (*correlation.group_by, *correlation.fields):
                names[correlation.field_for(rule, name)] = None
    return Placement(merged, {rule: tuple(names) for rule, names in exported.items()})
