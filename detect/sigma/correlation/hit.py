"""What correlations consume and produce, with no knowledge of where events come from.

A `Hit` is one match of a rule (a base rule, or a correlation feeding another): the key of the
rule, the audit time, the host, a tie-breaker for hits of the same millisecond, a getter for the
fields of the view it matched on (until it goes into the windows), and the thing that made it
(kept for the alert). A `Result`
is a window that fired: its group values, measured value, window and contributing hits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

FieldGetter = Callable[[str], object]


@dataclass(slots=True, eq=False)
class Hit:
    rule: str  # the rule's key: its id, or its name when it has no id
    time_ms: int
    host: str | None
    order: tuple[Any, ...]  # ties within a millisecond: e.g. (host, serial)
    get: FieldGetter
    payload: object = None

    @property
    def sort_key(self) -> tuple[int, tuple[Any, ...]]:
        return (self.time_ms, self.order)

    def spend(self) -> None:
        """The hit went into its windows, which read its fields then (group, measured value):
        drop the getter, and with it the view and event it reads (held for minutes
        otherwise)."""
        self.get = _spent


def _spent(name: str) -> object:
    raise RuntimeError(f"field {name!r} read from a hit already in its windows")


@dataclass(slots=True, eq=False)
class Entry:
    """A hit as one correlation keeps it: with the value it measures (None when not measured)."""

    hit: Hit
    value: object = None

    @property
    def time_ms(self) -> int:
        return self.hit.time_ms


@dataclass(eq=False)
class Result:
    """A window that met its condition."""

    correlation: Any  # detect.sigma.correlation.model.Correlation (no import cycle)
    group: dict[str, object]
    value: float
    start_ms: int
    end_ms: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def host(self) -> str | None:
        hosts = {hit.host for hit in self.hits}
        return hosts.pop() if len(hosts) == 1 else None

    def as_hit(self, key: str) -> Hit:
        """This result as an input of a correlation over correlations: its fields are its group
        values; it happened when its window completed."""
        last = self.hits[-1] if self.hits else None
        order = (*(last.order if last else ()), key)
        return Hit(key, self.end_ms, self.host, order, self.group.get, self)

    def base_hits(self) -> Iterator[Hit]:
        """The contributing hits of base rules, through nested correlations, in time order."""
        for hit in self.hits:
            if isinstance(hit.payload, Result):
                yield from hit.payload.base_hits()
            else:
                yield hit
