"""A rule set's entry in the cache of compiled rules (detect/sigma/packed.py): written by the
load that read its files' entries one by one, read instead of them by the next load, giving the
same rules; missed when a file changes, ignored when damaged (and written again), holding null
for a file the cache does not hold; a read through it marks its files' entries used."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from detect.sigma import packed
from detect.sigma.compiled import CompiledCache, Stored
from detect.sigma.load import load_detections
from detect.sigma.model import RuleSet
from tests.rules.test_compiled import DAMAGES, RULE, described

FILES = 4
CORRELATION = """\
title: Many execs under /tmp
id: 6a0f6c8e-1111-4c1e-9a55-00000000cc01
correlation:
    type: event_count
    rules: [6a0f6c8e-1111-4c1e-9a55-00000000c001]
    group-by: [User]
    timespan: 5m
    condition: {gte: 3}
level: high
"""


@pytest.fixture(autouse=True)
def small_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packed, "SET_MIN", 3)


def _rules(folder: Path, count: int = FILES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        text = RULE.replace("00000000c001", f"00000000d{n:03d}").replace("/tmp/", f"/tmp/{n}/")
        path = folder / f"rule-{n}.yml"
        path.write_text(text)
        paths.append(path)
    return paths


class Counting(CompiledCache):
    """A cache that counts the files' entries it reads one by one."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.read_one_by_one = 0

    def entry(self, key: str) -> tuple[list[Stored], bytes] | None:
        self.read_one_by_one += 1
        return super().entry(key)


def _load(folder: Path, store: Path) -> tuple[RuleSet, Counting]:
    cache = Counting(store)
    return load_detections([folder], default=False, reuse=cache), cache


def _sets(store: Path) -> list[Path]:
    """The entries of sets: the largest, a line of JSON naming its files then their bodies."""
    return [path for path in store.glob("*.json") if b'"files": ' in path.read_bytes()]


def test_the_next_load_reads_the_set_alone_and_gets_the_same_rules(tmp_path: Path) -> None:
    folder, store = tmp_path / "rules", tmp_path / "cache"
    _rules(folder)
    cold, cache = _load(folder, store)  # compiled, stored, and the set written
    assert cache.read_one_by_one == FILES  # each looked up, in vain
    assert len(_sets(store)) == 1
    hit, cache = _load(folder, store)
    assert cache.read_one_by_one == 0
    assert [described(r) for r in hit.rules] == [described(r) for r in cold.rules]
    assert all(rule.origin._rule is None for rule in hit.rules)  # built from the set's entry
    for entry in _sets(store):
        entry.unlink()
    miss, cache = _load(folder, store)  # the files' entries, one by one: the set written again
    assert cache.read_one_by_one == FILES and len(_sets(store)) == 1
    assert [described(r) for r in miss.rules] == [described(r) for r in cold.rules]
    _, cache = _load(folder, store)
    assert cache.read_one_by_one == 0


def test_a_changed_file_misses_the_set_and_a_new_one_is_written(tmp_path: Path) -> None:
    folder, store = tmp_path / "rules", tmp_path / "cache"
    paths = _rules(folder)
    _load(folder, store)
    (first,) = _sets(store)
    paths[1].write_text(paths[1].read_text().replace("level: medium", "level: high"))
    changed, cache = _load(folder, store)
    assert cache.read_one_by_one == FILES  # the other three from their own entries
    assert [rule.level for rule in changed.rules] == ["medium", "high", "medium", "medium"]
    assert len(_sets(store)) == 2 and first.exists()
    again, cache = _load(folder, store)
    assert cache.read_one_by_one == 0
    assert [described(r) for r in again.rules] == [described(r) for r in changed.rules]


def test_fewer_files_than_a_set_needs_have_no_set(tmp_path: Path) -> None:
    folder, store = tmp_path / "rules", tmp_path / "cache"
    _rules(folder, count=2)
    _load(folder, store)
    _, cache = _load(folder, store)
    assert cache.read_one_by_one == 2 and not _sets(store)


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_set_is_ignored_and_written_again(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    folder, store = tmp_path / "rules", tmp_path / "cache"
    _rules(folder)
    expected = [described(r) for r in _load(folder, store)[0].rules]
    (entry,) = _sets(store)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))
    again, cache = _load(folder, store)
    assert cache.read_one_by_one == FILES
    assert [described(r) for r in again.rules] == expected
    assert entry.read_bytes() == good


def test_a_rule_in_a_set_is_checked_as_in_a_file_entry(tmp_path: Path) -> None:
    """A body altered along with its digest (the digest is no signature): a rule whose data
    has not the types a rule has makes the whole set unused."""
    folder, store = tmp_path / "rules", tmp_path / "cache"
    _rules(folder)
    expected = [described(r) for r in _load(folder, store)[0].rules]
    (entry,) = _sets(store)
    head, _, body = entry.read_bytes().partition(b"\n")
    body = body.replace(b'"level": "medium"', b'"level": 3', 1)
    fields = json.loads(head)
    fields["digest"] = hashlib.sha256(body).hexdigest()
    entry.write_bytes(json.dumps(fields).encode() + b"\n" + body)
    again, cache = _load(folder, store)
    assert cache.read_one_by_one == FILES
    assert [described(r) for r in again.rules] == expected


def test_a_file_the_cache_does_not_hold_is_null_in_the_set(tmp_path: Path) -> None:
    folder, store = tmp_path / "rules", tmp_path / "cache"
    _rules(folder)
    (folder / "rule-0-many.yml").write_text(CORRELATION.replace("00000000c001", "00000000d000"))
    cold, _ = _load(folder, store)
    assert len(cold.correlations) == 1
    _load(folder, store)
    (entry,) = _sets(store)
    assert entry.read_bytes().count(b"null") >= 1
    hit, cache = _load(folder, store)
    assert cache.read_one_by_one == 1  # the correlation's file: looked up on its own
    assert len(hit.correlations) == 1
    assert [described(r) for r in hit.rules] == [described(r) for r in cold.rules]


def test_a_read_through_the_set_marks_its_files_entries_used(tmp_path: Path) -> None:
    folder, store = tmp_path / "rules", tmp_path / "cache"
    _rules(folder)
    _load(folder, store)
    _load(folder, store)
    then = time.time() - 20 * 86400
    for path in store.glob("*.json"):
        os.utime(path, (then, then))
    _, cache = _load(folder, store)
    assert cache.read_one_by_one == 0
    assert all(time.time() - path.stat().st_mtime < 3600 for path in store.glob("*.json"))
