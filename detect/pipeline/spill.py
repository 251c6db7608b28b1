"""What a host's scan raised, kept in order until the merge (detect.pipeline.parallel) on disk
rather than in memory: alerts and closed incidents are pickled into an anonymous temporary
file as they come, and read back one at a time, so a long scan's memory does not grow with
what it found. The merge reads every host's spill at once, one item each.

Objects of the `shared` types (the alert's rule part, one per rule) are pickled once and
referred to by number. A spill that crosses processes (a worker's result) travels as its
bytes, read back from memory on the other side.
"""

from __future__ import annotations

import io
import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")
PROTOCOL = pickle.HIGHEST_PROTOCOL


class Spill(Generic[T]):
    """`append` items, then iterate over them in the order appended (as often as wanted)."""

    def __init__(self, shared: tuple[type, ...] = ()) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._shared_types = shared
        self._shared: list[object] = []
        self._numbers: dict[int, int] = {}  # id of a shared object -> its number
        self._count = 0
        self._pickler = self._new_pickler()

    def _new_pickler(self) -> pickle.Pickler:
        pickler = pickle.Pickler(self._file, PROTOCOL)
        pickler.persistent_id = self._persistent_id  # type: ignore[method-assign]
        return pickler

    def _persistent_id(self, obj: object) -> int | None:
        if not isinstance(obj, self._shared_types):
            return None
        number = self._numbers.get(id(obj))
        if number is None:
            number = self._numbers[id(obj)] = len(self._shared)
            self._shared.append(obj)  # kept: the ids stay unique while it lives
        return number

    def append(self, item: T) -> None:
        self._file.seek(0, io.SEEK_END)
        self._pickler.dump(item)
        self._pickler.clear_memo()  # the memo would keep every item alive
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        file = self._file
        file.flush()
        position = 0
        for _ in range(self._count):
            file.seek(position)  # the caller may append or read in between
            unpickler = pickle.Unpickler(file)
            unpickler.persistent_load = self._shared.__getitem__  # type: ignore[method-assign]
            item: T = unpickler.load()
            position = file.tell()
            yield item

    def close(self) -> None:
        self._file.close()

    # -- crossing processes: the bytes travel, the file stays ------------------------------

    def __getstate__(self) -> dict[str, Any]:
        self._file.flush()
        self._file.seek(0)
        return {
            "data": self._file.read(),
            "shared": self._shared,
            "shared_types": self._shared_types,
            "count": self._count,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._file = io.BytesIO(state["data"])
        self._shared = state["shared"]
        self._shared_types = state["shared_types"]
        self._numbers = {id(obj): number for number, obj in enumerate(self._shared)}
        self._count = state["count"]
        self._pickler = self._new_pickler()
