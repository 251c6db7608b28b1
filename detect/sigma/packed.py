"""A rule set's entry in the cache of compiled rules: the entries of all its files, read at once.

A load of 5,000 rules from the cache of compiled rules (compiled.py) read 5,000 entries: for
each an open, a stat, a read and a close, a JSON head, a SHA-256 and a JSON body: 0.1 s of the
0.25 s such a load took, 0.03 s less read as one entry (medians of eight interleaved runs). A
load of at least `SET_MIN` files also keeps an entry for the whole set, keyed by the keys of
its files in their order (each already names the file's text and everything compiling depends
on): one head, as a file's entry has, then a line per file, the body of its entry, or null for
a file the cache does not hold (one with a correlation, a filter or an error); it is read a
line at a time, so that the set's text (8 MB for 5,000 rules) is never held whole. A load whose
files have those keys reads that one file instead (a file it holds as null is looked up on its
own, as before); any other load reads the files' entries one by one, keeps the bodies it read
or wrote, and writes the set's entry once the load is done. A file's entry read through the
set's is marked used as the set's is (once a day), so that pruning keeps it for the load that
misses the set after one file changed. The set's entry is trusted no more than a file's: its
head must name it and its digest, and each rule in it is checked as a file's entry's rules are
(compiled.stored_rules); one not as written is ignored, and written again by the load that
reads the files' entries instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import BinaryIO, Final

from detect.sigma.compile import Recipe
from detect.sigma.compiled import (
    CORRUPT,
    CompiledCache,
    Stored,
    checked_head,
    head_line,
    read_json,
    stored_rules,
)
from detect.sigma.model import Rule

SET_MIN: Final = 32  # fewer files: their entries are read one by one (a few ms)
NULL: Final = b"null"


class PackedLoad:
    """The cache of compiled rules, as one load of the files whose entry keys are `keys` (in
    load order) reads and writes it: `rules` and `put` as `CompiledCache` has them, then
    `seal` once every file was loaded and stored."""

    def __init__(self, cache: CompiledCache, keys: Sequence[str]) -> None:
        self.cache = cache
        self.keys = list(keys)
        self.key = set_key(self.keys)
        self._found: dict[str, list[Stored]] = {}
        self._bodies: dict[str, bytes] | None = None  # set: the set's entry is to be written
        if len(self.keys) < SET_MIN or not cache.store.ready():
            return
        opened = cache.store.open(self.key)
        if opened is not None:
            handle, marked = opened
            try:
                with handle:
                    self._found = read_set(self.key, self.keys, handle, cache)
            except (*CORRUPT, OSError):
                self._found = {}
            else:
                if marked:  # used today through the set: its files' entries are kept too
                    cache.store.mark(self._found)
                return
        self._bodies = {}

    def rules(self, key: str) -> list[Stored] | None:
        """The stored rules of the file whose entry key this is (`CompiledCache.rules`)."""
        found = self._found.get(key)
        if found is not None:
            return found
        entry = self.cache.entry(key)
        if entry is None:
            return None
        if self._bodies is not None:
            self._bodies[key] = entry[1]
        return entry[0]

    def put(self, key: str, rules: list[tuple[int, Rule, Recipe]]) -> None:
        """Store a file's compiled rules (`CompiledCache.put`)."""
        body = self.cache.put(key, rules)
        if body is not None and self._bodies is not None:
            self._bodies[key] = body

    def seal(self) -> None:
        """Write the set's entry, when this load read the files' entries one by one, of the
        bodies it read and wrote (none: nothing to pack)."""
        bodies, self._bodies, self._found = self._bodies, None, {}
        if not bodies:
            return
        lines = b"".join(bodies.get(key, NULL) + b"\n" for key in self.keys)
        head = head_line(self.key, lines, self.cache.hints, files=len(self.keys))
        self.cache.store.write(self.key, head + lines)


def set_key(keys: Sequence[str]) -> str:
    """The key of the set's entry: of its files' entry keys, in order."""
    return hashlib.sha256("\n".join(["set", *keys]).encode()).hexdigest()


def read_set(
    key: str, keys: Sequence[str], handle: BinaryIO, cache: CompiledCache
) -> dict[str, list[Stored]]:
    """The stored rules of each file a set's entry holds, by the file's entry key, read a line
    (a file) at a time: the set's whole text is never held (raises ValueError and co. on an
    entry not as written)."""
    head = checked_head(key, handle.readline(), cache.hints)
    if head["files"] != len(keys):
        raise ValueError("another set")
    digest = hashlib.sha256()
    found: dict[str, list[Stored]] = {}
    for file_key in keys:
        line = handle.readline()
        if not line.endswith(b"\n"):
            raise ValueError("cut short")
        digest.update(line)
        items = read_json(line)
        if items is not None:
            found[file_key] = stored_rules(items, cache.hints)
    if handle.read(1) or digest.hexdigest() != head["digest"]:
        raise ValueError("altered")
    return found
