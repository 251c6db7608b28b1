"""A hit that leaves its host's pipeline for the correlations that run after the merge
(detect.correlation.placement): plain data that pickles (a worker process or a Dask task sends
it back), with the fields the merged correlations read taken from the view while it is at
hand, and the event as its lines. `hit()` makes it a correlator's `Hit` again on the other
side, with the same rule loaded there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detect.correlation.contribution import Contribution, Parts
from detect.sigma.correlation.hit import Hit
from detect.sigma.model import Rule


@dataclass(frozen=True, slots=True)
class ExportedHit:
    rule: str  # the rule's key (detect.sigma.correlation.resolve.rule_key)
    time_ms: int
    host: str | None
    order: tuple[Any, ...]
    fields: dict[str, object]  # the fields the merged correlations read, as the view gave them
    parts: Parts  # the Contribution, but for its rule

    @property
    def sort_key(self) -> tuple[int, tuple[Any, ...]]:
        return (self.time_ms, self.order)

    def hit(self, rule: Rule) -> Hit:
        contribution = Contribution.restored(rule, self.parts)
        return Hit(self.rule, self.time_ms, self.host, self.order, self.fields.get, contribution)


def export(hit: Hit, names: Sequence[str]) -> ExportedHit:
    """`hit` (fresh from `stage.hit_of`: its getter still reads the view) as it goes to the
    merge, carrying fields `names`."""
    contribution = hit.payload
    if not isinstance(contribution, Contribution):
        raise TypeError(f"a base rule's hit carries a Contribution, not {contribution!r}")
    fields = {name: hit.get(name) for name in names}
    return ExportedHit(hit.rule, hit.time_ms, hit.host, hit.order, fields, contribution.parts())
