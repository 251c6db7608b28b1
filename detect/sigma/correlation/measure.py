"""What a window measures, per correlation type (a registry at the bottom).

Each measure takes the window's entries (in time order) and returns a number, or None when
there is nothing to measure (no numeric value for the value_* metrics). Entries carry the value
of the correlation's `field` for the value_* types (a tuple when `field` lists several).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detect.sigma.correlation.hit import Entry


@dataclass(frozen=True)
class Spec:
    """What measures need from the correlation: its inputs in order, the percentile."""

    inputs: tuple[str, ...]
    percentile: float = 50.0


Measure = Callable[[Sequence[Entry], Spec], float | None]


def event_count(entries: Sequence[Entry], spec: Spec) -> float | None:
    return float(len(entries))


def value_count(entries: Sequence[Entry], spec: Spec) -> float | None:
    """Distinct values of the field; hits without the field are not counted."""
    return float(len({entry.value for entry in entries if entry.value is not None}))


def temporal(entries: Sequence[Entry], spec: Spec) -> float | None:
    """How many of the referenced rules matched in the window."""
    return float(len({entry.hit.rule for entry in entries}))


def temporal_ordered(entries: Sequence[Entry], spec: Spec) -> float | None:
    """How many of the referenced rules matched in their order: the longest prefix of
    `inputs` found as a subsequence of the window (greedy earliest match is longest)."""
    found = 0
    inputs = spec.inputs
    for entry in entries:
        if found < len(inputs) and entry.hit.rule == inputs[found]:
            found += 1
    return float(found)


def numbers(entries: Sequence[Entry]) -> list[float]:
    out = []
    for entry in entries:
        number = as_number(entry.value)
        if number is not None:
            out.append(number)
    return out


def as_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def value_sum(entries: Sequence[Entry], spec: Spec) -> float | None:
    found = numbers(entries)
    return math.fsum(found) if found else None


def value_avg(entries: Sequence[Entry], spec: Spec) -> float | None:
    found = numbers(entries)
    return math.fsum(found) / len(found) if found else None


def value_percentile(entries: Sequence[Entry], spec: Spec) -> float | None:
    """The `percentile` (0-100) of the numeric values, interpolating linearly between the
    closest ranks (numpy's default method)."""
    found = sorted(numbers(entries))
    if not found:
        return None
    rank = (len(found) - 1) * spec.percentile / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(found) - 1)
    return found[low] + (found[high] - found[low]) * (rank - low)


def value_median(entries: Sequence[Entry], spec: Spec) -> float | None:
    return value_percentile(entries, Spec(spec.inputs, 50.0))


MEASURES: dict[str, Measure] = {
    "event_count": event_count,
    "value_count": value_count,
    "temporal": temporal,
    "temporal_ordered": temporal_ordered,
    "value_sum": value_sum,
    "value_avg": value_avg,
    "value_percentile": value_percentile,
    "value_median": value_median,
}
# Types whose measure never decreases as a window gains hits: with `gt`/`gte` they fire as
# soon as the condition holds; every other combination is decided when the window closes.
COUNTING = frozenset(("event_count", "value_count", "temporal", "temporal_ordered"))
VALUED = frozenset(("value_count", "value_sum", "value_avg", "value_percentile", "value_median"))
