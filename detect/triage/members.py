"""An incident's member events (host, serial, @timestamp), kept packed while it is open.

Incidents stay open for a quiet gap of half an hour of audit time and keep up to a thousand
member events each: as dicts (one per event, ~330 bytes with its values) they made memory grow
with the alerts a scan raised. Here the latest CHUNK are plain tuples and the earlier ones
compressed in chunks (events of one incident differ little: a few bytes each); `documents()`
gives them back as the dicts an incident line shows, in the order they were added.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator
from typing import Any, Final

CHUNK: Final = 64  # members packed together
Member = tuple[Any, Any, Any]  # (host, serial, @timestamp) as the alert's event had them


class Members:
    """Append (host, serial, @timestamp); iterate in the order appended."""

    __slots__ = ("_chunks", "_count", "_tail")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._tail: list[Member] = []
        self._count = 0

    def append(self, member: Member) -> None:
        tail = self._tail
        tail.append(member)
        self._count += 1
        if len(tail) >= CHUNK:
            self._chunks.append(zlib.compress(pickle.dumps(tail, pickle.HIGHEST_PROTOCOL), 1))
            self._tail = []

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Member]:
        for chunk in self._chunks:
            unpacked: list[Member] = pickle.loads(zlib.decompress(chunk))
            yield from unpacked
        yield from self._tail

    def documents(self) -> list[dict[str, Any]]:
        """The members as an incident line shows them."""
        return [
            {"host": host, "serial": serial, "@timestamp": stamp} for host, serial, stamp in self
        ]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Members):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"Members({self._count})"
