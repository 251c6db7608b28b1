"""The modules compiled to C extensions with mypyc, and whether the compiled build is current.

`setup.py` compiles `MODULES` (the hot path: records, reassembly, views, the rule index and
conditions, the process tree, the engine and its alerts, the correlation step, triage) from
their type hints; the `.py` files stay the source and are what runs wherever no compiled module
sits beside them. An extension module shadows its `.py` file on import, so after an edit the
build must be redone (`make build`): `status()` tells compiled, stale and pure modules apart,
the tests refuse a stale build, and `prefer_source()` (DETECT_PURE=1 for the tests and the
benchmark) imports the `.py` files even where a build exists, to profile or to test the
pure-Python path.
`use_current_code()` runs first in the `detect` program (detect.cli.main), never at import: in
a source checkout a stale build gives way to the sources, with a warning, so that `detect`
never runs code older than what is on disk; the tests (tests/conftest.py) and the benchmark
(bench/run.py) refuse a stale build instead. Never compiled itself.

What is pickled (spills, worker processes, Dask tasks) must unpickle compiled too: a compiled
dataclass does (mypyc writes its `__getstate__` and `__setstate__`) unless it is frozen (its
`__setstate__` assigns to the frozen fields), and any other compiled class is unpickled through
its `__init__` called with no arguments (mypyc's `__new__` calls it). Frozen settings therefore
live in modules not listed here (detect/triage/settings.py), and a class that holds one made
with arguments says how it pickles (detect.triage.score.IncidentScore).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
PURE_ENV = "DETECT_PURE"  # =1: build nothing (setup.py), import sources (tests, benchmark)
MODULES = (
    "detect/core/timefmt.py",
    "detect/sources/lines.py",
    "detect/kernel/categories.py",
    "detect/auditd/event.py",
    "detect/auditd/fields.py",
    "detect/auditd/numbers.py",
    "detect/auditd/record.py",
    "detect/auditd/reassemble.py",
    "detect/auditd/interpret.py",
    "detect/auditd/normalize.py",
    "detect/auditd/export.py",
    "detect/views/record.py",
    "detect/views/category.py",
    "detect/sigma/condition.py",
    "detect/sigma/index.py",
    "detect/sigma/values.py",
    "detect/proctree/observe.py",
    "detect/proctree/tree.py",
    "detect/proctree/process.py",
    "detect/proctree/fields.py",
    "detect/matching/dispatch.py",
    "detect/matching/plans.py",
    "detect/matching/engine.py",
    "detect/matching/alert.py",
    "detect/pipeline/scan.py",
    "detect/pipeline/routing.py",
    "detect/correlation/stage.py",
    "detect/sigma/correlation/correlator.py",
    "detect/triage/levels.py",
    "detect/triage/deadlines.py",
    "detect/triage/grouping.py",
    "detect/triage/members.py",
    "detect/triage/score.py",
    "detect/triage/dedup.py",
    "detect/triage/incidents.py",
    "detect/triage/stage.py",
)


@dataclass(frozen=True)
class NativeStatus:
    compiled: tuple[str, ...]  # an extension module newer than its source
    stale: tuple[str, ...]  # an extension module older than its source: rebuild
    pure: tuple[str, ...]  # no extension module: the source runs

    def summary(self) -> str:
        if self.stale:
            return f"STALE compiled modules (run `make build`): {', '.join(self.stale)}"
        return f"compiled with mypyc: {len(self.compiled)} of {len(MODULES)} hot modules"


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def extension_of(source: Path) -> Path | None:
    """The compiled module beside `source`, if any."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        found = source.with_name(source.stem + suffix)
        if found.exists():
            return found
    return None


def status(root: Path = PACKAGE_ROOT, modules: Sequence[str] = MODULES) -> NativeStatus:
    compiled: list[str] = []
    stale: list[str] = []
    pure: list[str] = []
    for path in modules:
        source = root / path
        extension = extension_of(source)
        if extension is None:
            pure.append(path)
        elif extension.stat().st_mtime < source.stat().st_mtime:
            stale.append(path)
        else:
            compiled.append(path)
    return NativeStatus(tuple(compiled), tuple(stale), tuple(pure))


class _SourceFinder:
    """Finds the hot modules' `.py` files, ahead of their extension modules."""

    def __init__(self, root: Path) -> None:
        self.sources = {module_name(path): root / path for path in MODULES}

    def find_spec(
        self, name: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(name)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(name, source)


def prefer_source(root: Path = PACKAGE_ROOT) -> None:
    """Import the hot modules from their `.py` files from now on (call before importing them;
    again later, it does nothing)."""
    if any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        return
    loaded = [name for name in map(module_name, MODULES) if name in sys.modules]
    if loaded:
        raise RuntimeError(f"prefer_source() after {', '.join(loaded)} was imported")
    sys.meta_path.insert(0, _SourceFinder(root))


def use_current_code(root: Path = PACKAGE_ROOT) -> None:
    """DETECT_PURE=1: the sources. In a source checkout (setup.py beside the package), a
    compiled module older than its `.py` file (edited, not rebuilt) would run old code: the
    sources run instead, and stderr says so. An installed package is left alone: the times of
    its files say nothing about edits."""
    if os.environ.get(PURE_ENV) == "1":
        prefer_source(root)
        return
    if not (root / "setup.py").is_file():
        return
    stale = status(root).stale
    if stale:
        print(
            f"detect: running the .py sources (slower): {', '.join(stale)} changed since the"
            " last `make build`",
            file=sys.stderr,
        )
        prefer_source(root)
