"""The windows of one correlation: hits grouped by the group-by values, in audit-time order.

Windows slide over event time and are inclusive: hits at t and t + timespan are in one window.
- Rising correlations (counting types with `gt`/`gte`) are evaluated at each hit, on the window
  that ends at it; when the condition holds the window fires at that hit (the event that
  completes it) and its hits are consumed, so the next alert needs a fresh window.
- The others (`lt`, `lte`, `eq`, `neq`; value_sum/avg/percentile/median) are decided when the
  window closes: a window opens at a group's oldest hit t0 and closes once audit time has passed
  t0 + timespan (or at flush). If the condition holds it fires and its hits are consumed;
  otherwise the window slides to the group's next hit.

State is bounded (`Limits`): hits per group (the oldest is dropped), groups per correlation
and hits per correlation (the least recently updated group is dropped); every drop is counted.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Hashable
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from detect.sigma.correlation.hit import Entry, Hit, Result
from detect.sigma.correlation.measure import MEASURES, VALUED
from detect.sigma.correlation.model import Correlation

MAX_GROUPS = 10_000
MAX_GROUP_HITS = 1_000
MAX_HITS = 10_000
NEVER = 1 << 62  # `Windows.due_ms` with nothing to close: later than any audit time
GroupKey = tuple[Hashable, ...]
_time_of = attrgetter("time_ms")  # an Entry's audit time, for bisect


@dataclass(frozen=True)
class Limits:
    max_groups: int = MAX_GROUPS  # per correlation
    max_group_hits: int = MAX_GROUP_HITS  # hits kept per group (per window)
    max_hits: int = MAX_HITS  # hits kept per correlation, over its groups


@dataclass
class WindowStats:
    hits: int = 0
    ungrouped: int = 0  # hits without a group-by field: not counted
    results: int = 0
    groups_evicted: int = 0
    hits_evicted: int = 0  # dropped by a bound (with their group or alone)

    def to_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def add(self, other: WindowStats) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


def hashable(value: object) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), hashable(v)) for k, v in value.items()))
    return value


class Windows:
    """Push hits with `insert`; `close_until` decides the windows that closed; `flush` all."""

    def __init__(self, correlation: Correlation, limits: Limits | None = None) -> None:
        self.correlation = correlation
        self.limits = limits or Limits()
        self.stats = WindowStats()
        self.groups: dict[GroupKey, list[Entry]] = {}  # least recently updated first
        self.held = 0  # hits kept over all groups
        self._closes: list[tuple[int, int, GroupKey]] = []  # (close time, seq, group)
        self._seq = 0
        self._measure = MEASURES[correlation.type]
        self._valued = correlation.type in VALUED
        self._span = correlation.timespan_ms
        self._fires_at_hit = correlation.rising
        # the audit time `close_until` next has something to do at (NEVER: nothing), kept
        # exact after every change, so that the correlator asks only then (it looks at every
        # event's time): the first group's end for rising windows (`_expire`), else the
        # earliest scheduled close
        self.due_ms = NEVER

    def _refresh_due(self) -> None:
        if self._fires_at_hit:
            groups = self.groups
            self.due_ms = next(iter(groups.values()))[-1].time_ms + self._span if groups else NEVER
        else:
            closes = self._closes
            self.due_ms = closes[0][0] if closes else NEVER

    # -- input -------------------------------------------------------------------------------

    def insert(self, hit: Hit) -> list[Result]:
        key = self._group_key(hit)
        if key is None:
            self.stats.ungrouped += 1
            return []
        results = self._insert(key, hit)
        self._refresh_due()
        return results

    def _insert(self, key: GroupKey, hit: Hit) -> list[Result]:
        self.stats.hits += 1
        entries = self.groups.pop(key, None)
        if entries is None:
            entries = []
            self._make_room()
        self.groups[key] = entries
        position = _insert(entries, Entry(hit, self._value(hit)))
        self.held += 1
        if len(entries) > self.limits.max_group_hits:
            del entries[0]
            self._dropped(1)
            position -= 1
        if self.held > self.limits.max_hits:
            self._evict_groups(keep=key)
        if self._fires_at_hit:
            return self._rising(key, entries, position) if position >= 0 else []
        if position <= 0:  # a new oldest hit: the group's window starts there
            self._schedule(key, entries)
        return []

    def _group_key(self, hit: Hit) -> GroupKey | None:
        correlation = self.correlation
        values = []
        for name in correlation.group_by:
            value = hit.get(correlation.field_for(hit.rule, name))
            if value is None:
                return None
            values.append(hashable(value))
        return tuple(values)

    def _value(self, hit: Hit) -> object:
        if not self._valued:
            return None
        correlation = self.correlation
        values = [hashable(hit.get(correlation.field_for(hit.rule, f))) for f in correlation.fields]
        if any(value is None for value in values):
            return None
        return values[0] if len(values) == 1 else tuple(values)

    # -- bounds ------------------------------------------------------------------------------

    def _make_room(self) -> None:
        while len(self.groups) >= self.limits.max_groups:
            self._evict_oldest_group()

    def _evict_groups(self, keep: GroupKey) -> None:
        while self.held > self.limits.max_hits and len(self.groups) > 1:
            oldest = next(iter(self.groups))
            if oldest == keep:  # the group just updated is the newest: never first
                break
            self._evict_oldest_group()

    def _evict_oldest_group(self) -> None:
        oldest = next(iter(self.groups))
        entries = self.groups.pop(oldest)
        self.stats.groups_evicted += 1
        self._dropped(len(entries))

    def _dropped(self, count: int) -> None:
        self.held -= count
        self.stats.hits_evicted += count

    # -- rising: decided at each hit ---------------------------------------------------------

    def _rising(self, key: GroupKey, entries: list[Entry], position: int) -> list[Result]:
        end = entries[position].time_ms
        first = 0
        while entries[first].time_ms < end - self._span:
            first += 1
        window = entries[first : position + 1]
        value = self._measure(window, self.correlation.spec)
        if self.correlation.condition.holds(value):
            self._consume(key, entries, position + 1)
            return [self._result(key, window, value)]
        if position == len(entries) - 1 and first:
            del entries[:first]  # older than any window still to come
            self.held -= first
        return []

    def _consume(self, key: GroupKey, entries: list[Entry], count: int) -> None:
        del entries[:count]
        self.held -= count
        if not entries:
            del self.groups[key]

    # -- closing: decided when audit time passes the window's end ----------------------------

    def _schedule(self, key: GroupKey, entries: list[Entry]) -> None:
        if entries:
            self._seq += 1
            heapq.heappush(self._closes, (entries[0].time_ms + self._span, self._seq, key))

    def close_until(self, limit_ms: float, inclusive: bool) -> list[Result]:
        """Decide every window that ends before `limit_ms` (or at it, when `inclusive`)."""
        if self._fires_at_hit:
            self._expire(limit_ms)
            self._refresh_due()
            return []
        results: list[Result] = []
        closes = self._closes
        while closes and (closes[0][0] < limit_ms or (inclusive and closes[0][0] == limit_ms)):
            close_ms, _, key = heapq.heappop(closes)
            entries = self.groups.get(key)
            if not entries or entries[0].time_ms + self._span != close_ms:
                continue  # stale: the group's window moved since
            results.extend(self._close(key, entries, close_ms))
        self._refresh_due()
        return results

    def _close(self, key: GroupKey, entries: list[Entry], close_ms: int) -> list[Result]:
        count = bisect_right(entries, close_ms, key=_time_of)
        window = entries[:count]
        value = self._measure(window, self.correlation.spec)
        if self.correlation.condition.holds(value):
            self._consume(key, entries, count)
            found = [self._result(key, window, value)]
        else:
            self._consume(key, entries, 1)
            found = []
        if key in self.groups:
            self._schedule(key, entries)
        return found

    def _expire(self, limit_ms: float) -> None:
        """Drop rising groups whose newest hit can be in no window still to come."""
        expired: list[GroupKey] = []
        for key, entries in self.groups.items():
            if entries[-1].time_ms + self._span >= limit_ms:
                break  # least recently updated first: the rest are newer
            expired.append(key)
        for key in expired:
            self.held -= len(self.groups.pop(key))

    def flush(self) -> list[Result]:
        return self.close_until(float("inf"), inclusive=True)

    def _result(self, key: GroupKey, window: list[Entry], value: float | None) -> Result:
        self.stats.results += 1
        group = dict(zip(self.correlation.group_by, key, strict=True))
        return Result(
            correlation=self.correlation,
            group={name: _plain(v) for name, v in group.items()},
            value=float(value or 0.0),
            start_ms=window[0].time_ms,
            end_ms=window[-1].time_ms,
            hits=[entry.hit for entry in window],
        )


def _insert(entries: list[Entry], entry: Entry) -> int:
    """Put `entry` in audit-time order (after equal keys); its position."""
    if not entries or entries[-1].hit.sort_key <= entry.hit.sort_key:
        entries.append(entry)
        return len(entries) - 1
    key = entry.hit.sort_key
    position = len(entries)
    while position and entries[position - 1].hit.sort_key > key:
        position -= 1
    entries.insert(position, entry)
    return position


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
