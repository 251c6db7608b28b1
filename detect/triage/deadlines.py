"""Deadlines in audit time, per host: what deduplication windows and incidents wait for.

One heap per host. A key has one deadline, its latest: adding another replaces it (an incident
extended by an alert, a window opened again). The entry of the one replaced stays in the heap,
stale, and `expired` passes over it, so an owner hears of a key once, when audit time passes the
key's deadline, and keys whose deadlines pass together come in the order of their deadlines
(ties: the order they were added in). An entry is one int (deadline, then the order added) and
the key.

Memory: an incident's deadline moves at nearly every alert, and a stale entry would otherwise
stay until audit time passes it (the incident gap: 30 minutes by default), one per alert. A heap
whose stale entries outnumber the live ones is rebuilt without them (amortised O(1) per add;
the entries are totally ordered, so the rebuilt heap yields what the old one would). An entry
equal to the key's latest (same key, same deadline: an incident's burst of alerts at one audit
time) is not added.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
ORDER_SPAN: Final = 1 << 48  # entries added per tracker, at most: ties keep the order added
COMPACT_AT: Final = 256  # a heap this long or longer is rebuilt when mostly stale


class Deadlines(Generic[K]):
    def __init__(
        self, compact_at: int = COMPACT_AT, earliest: dict[str | None, int] | None = None
    ) -> None:
        """`compact_at`: the least length of a heap that is rebuilt when mostly stale.
        `earliest` (shared by several owners: the triage stage's one look per event): each
        added deadline lowers its host's value there to it; the owner of the dict raises it
        again after audit time moved (`top`)."""
        self._compact_at = compact_at
        self._earliest = earliest
        self._heaps: dict[str | None, list[tuple[int, K]]] = {}
        self._stale: dict[str | None, int] = {}  # per host: stale entries in its heap
        self._order = 0  # ties keep the order they were added in (keys need not compare)
        # (host, key) -> the key's live entry (its packed int), while it is in the heap: an
        # earlier entry of the key with the same deadline is stale all the same
        self._latest: dict[tuple[str | None, K], int] = {}

    def add(self, host: str | None, deadline_ms: int, key: K) -> None:
        latest, mine = self._latest, (host, key)
        known = latest.get(mine)
        if known is not None and known // ORDER_SPAN == deadline_ms:
            return
        self._order += 1
        packed = latest[mine] = deadline_ms * ORDER_SPAN + self._order
        heap = self._heaps.setdefault(host, [])
        if known is not None:
            stale = self._stale[host] = self._stale.get(host, 0) + 1
            if stale * 2 > len(heap) >= self._compact_at:
                self._compact(host, heap)
        heapq.heappush(heap, (packed, key))
        earliest = self._earliest
        if earliest is not None:
            lowest = earliest.get(host)
            if lowest is None or deadline_ms < lowest:
                earliest[host] = deadline_ms

    def _compact(self, host: str | None, heap: list[tuple[int, K]]) -> None:
        """The heap without its stale entries: each key's live entry alone."""
        latest = self._latest
        kept = [entry for entry in heap if latest.get((host, entry[1])) == entry[0]]
        kept.sort()  # by the packed int alone: no two are equal
        heap[:] = kept  # sorted: a heap already
        self._stale[host] = 0

    def top(self, host: str | None) -> int | None:
        """The deadline at the top of the host's heap (perhaps a stale entry's: at most the
        earliest deadline of its keys); None when it has none."""
        heap = self._heaps.get(host)
        return heap[0][0] // ORDER_SPAN if heap else None

    def expired(self, host: str | None, time_ms: int) -> Iterator[tuple[int, K]]:
        """(deadline, key) of each key of `host` whose deadline `time_ms` has passed, oldest
        first; each key leaves (a key added again later has a new deadline)."""
        heap = self._heaps.get(host)
        latest = self._latest
        while heap and heap[0][0] // ORDER_SPAN < time_ms:
            packed, key = heapq.heappop(heap)
            if latest.get((host, key)) != packed:
                self._stale[host] -= 1
                continue
            del latest[host, key]
            yield packed // ORDER_SPAN, key

    def __len__(self) -> int:
        """Entries in the heaps, stale ones included."""
        return sum(len(heap) for heap in self._heaps.values())

    def hosts(self) -> list[str | None]:
        return list(self._heaps)

    def clear(self) -> None:
        self._heaps.clear()
        self._stale.clear()
        self._latest.clear()
