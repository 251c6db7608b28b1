"""Deadlines in audit time, per host: what deduplication windows and incidents wait for.

One heap per host; an entry is never removed when its owner changes (a window closed early, an
incident extended): `expired` hands back every entry whose deadline has passed and the owner
checks that the key is still due then.

Memory: an incident schedules its deadline at every alert, and its alerts come in bursts (the
rules one event matched, at one audit time). An entry equal to the key's latest one still in a
heap (same key, same deadline) is not added: it would leave that heap in the same `expired` call
as the first, after it, when the owner's check gives the same answer, so it changes nothing.
An entry is one int (deadline, then the order added) and the key.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
ORDER_SPAN: Final = 1 << 48  # entries added per tracker, at most: ties keep the order added


class Deadlines(Generic[K]):
    def __init__(self) -> None:
        self._heaps: dict[str | None, list[tuple[int, K]]] = {}
        self._order = 0  # ties keep the order they were added in (keys need not compare)
        # (host, key) -> the deadline of its latest entry, while that entry is in the heap
        self._latest: dict[tuple[str | None, K], int] = {}

    def add(self, host: str | None, deadline_ms: int, key: K) -> None:
        latest, mine = self._latest, (host, key)
        if latest.get(mine) == deadline_ms:
            return
        latest[mine] = deadline_ms
        self._order += 1
        entry = (deadline_ms * ORDER_SPAN + self._order, key)
        heapq.heappush(self._heaps.setdefault(host, []), entry)

    def due(self, host: str | None, time_ms: int) -> bool:
        """Whether audit time `time_ms` on `host` passes a deadline (the heap's top)."""
        heap = self._heaps.get(host)
        return heap is not None and bool(heap) and heap[0][0] // ORDER_SPAN < time_ms

    def expired(self, host: str | None, time_ms: int) -> Iterator[tuple[int, K]]:
        """(deadline, key) of each entry of `host` that `time_ms` has passed, oldest first."""
        heap = self._heaps.get(host)
        latest = self._latest
        while heap and heap[0][0] // ORDER_SPAN < time_ms:
            packed, key = heapq.heappop(heap)
            deadline = packed // ORDER_SPAN
            if latest.get((host, key)) == deadline:
                del latest[host, key]
            yield deadline, key

    def __len__(self) -> int:
        return sum(len(heap) for heap in self._heaps.values())

    def hosts(self) -> list[str | None]:
        return list(self._heaps)

    def clear(self) -> None:
        self._heaps.clear()
        self._latest.clear()
