"""What a host's scan raised, kept in order until the merge (detect.pipeline.parallel) on disk
rather than in memory: alerts and closed incidents are pickled into an anonymous temporary
file as they come, and read back one at a time, so a long scan's memory does not grow with
what it found. The merge reads every host's spill at once, one item each.

Objects of the `shared` types (the alert's rule part, one per rule) are pickled once and
referred to by number: the pickler's dispatch table (looked up in C by an object's exact type)
writes such an object as a call of `shared_item` with its number, and the spill's unpickler
resolves `shared_item` to its own list. A `persistent_id` hook did this before, but the pickler
calls that for every object it writes (~900 per alert with its event), which cost about as
much as the rest of pickling. A spill that crosses processes (a worker's result) travels as its
bytes, read back from memory on the other side.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")
PROTOCOL = pickle.HIGHEST_PROTOCOL


def shared_item(number: int) -> object:
    """What a shared object is pickled as a call of; only a spill's reader can resolve it."""
    raise pickle.UnpicklingError(f"shared object {number} read outside its spill")


SHARED_ITEM = (shared_item.__module__, shared_item.__name__)


class _Reader(pickle.Unpickler):
    """Reads one item, with `shared_item` standing for the spill's shared objects."""

    def __init__(self, file: IO[bytes], resolve: Callable[[int], object]) -> None:
        super().__init__(file)
        self._resolve = resolve

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == SHARED_ITEM:
            return self._resolve
        return super().find_class(module, name)


class Spill(Generic[T]):
    """`append` items, then iterate over them in the order appended (as often as wanted)."""

    def __init__(self, shared: tuple[type, ...] = ()) -> None:
        """`shared`: types whose objects are pickled once (exact types, not subclasses)."""
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._shared_types = shared
        self._shared: list[object] = []
        self._numbers: dict[int, int] = {}  # id of a shared object -> its number
        self._count = 0
        self._at_end = True  # the file's position is at its end (no read since the last append)
        self._table = self._dispatch_table()

    def _dispatch_table(self) -> dict[Any, Any] | None:
        if not self._shared_types:
            return None
        table: dict[Any, Any] = dict(copyreg.dispatch_table)
        table.update(dict.fromkeys(self._shared_types, self._reduce_shared))
        return table

    def _reduce_shared(self, obj: object) -> tuple[Callable[[int], object], tuple[int]]:
        number = self._numbers.get(id(obj))
        if number is None:
            number = self._numbers[id(obj)] = len(self._shared)
            self._shared.append(obj)  # kept: the ids stay unique while it lives
        return shared_item, (number,)

    def append(self, item: T) -> None:
        if not self._at_end:  # a seek flushes the write buffer: only after a read
            self._file.seek(0, io.SEEK_END)
            self._at_end = True
        # A pickler per item: one kept would keep its memo table as large as the largest item
        # made it (and its entries, the item, alive until cleared); 24 of them held 3 MB.
        pickler = pickle.Pickler(self._file, PROTOCOL)
        if self._table is not None:
            pickler.dispatch_table = self._table
        pickler.dump(item)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        file = self._file
        file.flush()
        position = 0
        for _ in range(self._count):
            self._at_end = False
            file.seek(position)  # the caller may append or read in between
            item: T = _Reader(file, self._shared.__getitem__).load()
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
        self._at_end = False  # at its start
        self._shared = state["shared"]
        self._shared_types = state["shared_types"]
        self._numbers = {id(obj): number for number, obj in enumerate(self._shared)}
        self._count = state["count"]
        self._table = self._dispatch_table()
