"""Deadlines in audit time, per host: what deduplication windows and incidents wait for.

One heap per host; an entry is never removed when its owner changes (a window closed early, an
incident extended): `expired` hands back every entry whose deadline has passed and the owner
checks that the key is still due then.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Generic, TypeVar

K = TypeVar("K")


class Deadlines(Generic[K]):
    def __init__(self) -> None:
        self._heaps: dict[str | None, list[tuple[int, int, K]]] = {}
        self._order = 0  # ties keep the order they were added in (keys need not compare)

    def add(self, host: str | None, deadline_ms: int, key: K) -> None:
        self._order += 1
        heapq.heappush(self._heaps.setdefault(host, []), (deadline_ms, self._order, key))

    def due(self, host: str | None, time_ms: int) -> bool:
        """Whether audit time `time_ms` on `host` passes a deadline (the heap's top)."""
        heap = self._heaps.get(host)
        return heap is not None and bool(heap) and heap[0][0] < time_ms

    def expired(self, host: str | None, time_ms: int) -> Iterator[tuple[int, K]]:
        """(deadline, key) of each entry of `host` that `time_ms` has passed, oldest first."""
        heap = self._heaps.get(host)
        while heap and heap[0][0] < time_ms:
            deadline, _, key = heapq.heappop(heap)
            yield deadline, key

    def hosts(self) -> list[str | None]:
        return list(self._heaps)

    def clear(self) -> None:
        self._heaps.clear()
