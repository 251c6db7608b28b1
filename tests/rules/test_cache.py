"""The cache of parsed rule files: same documents as parsing, corrupt entries rebuilt, only
data JSON gives back exactly, a private folder, and rule loading unchanged through it."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest

from detect.sigma import cache as cache_module
from detect.sigma import load as load_module
from detect.sigma.cache import ParseCache, default_cache
from detect.sigma.documents import line_of, read_documents
from detect.sigma.load import load_rules

TEXT = """title: cached
id: 0b4f7a46-3a58-4a0e-9a3e-6f4b1d1e1a01
date: 2024-05-01
modified: 2024-05-02 10:11:12+02:00
logsource: {product: linux, service: auditd}
detection:
  selection:
    type: EXECVE
    a0|endswith: [/curl, /wget]
    a1: 12
  condition: selection
level: high
---
title: second
logsource: {product: linux}
detection:
  keywords: [nc -l, 0.5, true]
  condition: keywords
"""


def _cache(tmp_path: Path) -> ParseCache:
    return ParseCache(tmp_path / "detect" / "yaml")


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "detect" / "yaml").glob("*.json"))


def test_a_hit_gives_the_documents_parsing_gives(tmp_path: Path) -> None:
    parsed, problem = read_documents(TEXT)
    first, _ = _cache(tmp_path).documents(TEXT)  # miss: parsed and stored
    assert len(_entries(tmp_path)) == 1
    again, problem_again = _cache(tmp_path).documents(TEXT)  # hit
    assert problem is problem_again is None
    assert [d.data for d in again] == [d.data for d in parsed] == [d.data for d in first]
    assert [d.line for d in again] == [d.line for d in parsed] == [1, 14]
    assert again[0].data["date"] == datetime.date(2024, 5, 1)
    modified = again[0].data["modified"]
    assert type(modified) is datetime.datetime and modified.utcoffset() is not None
    path = ("detection", "selection", "a0|endswith")
    assert line_of(again[0].node, path) == line_of(parsed[0].node, path) == 9  # composed anew


def test_a_corrupt_entry_is_ignored_and_written_again(tmp_path: Path) -> None:
    _cache(tmp_path).documents(TEXT)
    (entry,) = _entries(tmp_path)
    for garbage in (b"{not json", b'{"format": 1}', entry.read_bytes()[:40], b"[]"):
        entry.write_bytes(garbage)
        documents, problem = _cache(tmp_path).documents(TEXT)
        assert problem is None and documents[0].data["title"] == "cached"
        assert json.loads(entry.read_bytes())["documents"][0]["line"] == 1  # rebuilt


def test_an_entry_of_other_text_is_not_taken(tmp_path: Path) -> None:
    _cache(tmp_path).documents(TEXT)
    other = TEXT.replace("cached", "other")
    (entry,) = _entries(tmp_path)
    entry.rename(entry.with_name(cache_module.entry_key(other) + ".json"))
    documents, _ = _cache(tmp_path).documents(other)
    assert documents[0].data["title"] == "other"


@pytest.mark.parametrize(
    "text",
    [
        "title: a\n1: integer key\n",  # JSON would make the key a string
        "title: a\nblob: !!binary aGVsbG8=\n",
        "title: a\nset: !!set {x, y}\n",
        "title: a\ndetection: [unclosed\n",  # an error is never stored
    ],
)
def test_what_json_cannot_give_back_is_parsed_every_time(tmp_path: Path, text: str) -> None:
    documents, problem = _cache(tmp_path).documents(text)
    assert (documents, problem) != ([], None)
    assert _entries(tmp_path) == []
    expected = read_documents(text)
    assert [d.data for d in documents] == [d.data for d in expected[0]]
    assert problem == expected[1]


def test_the_folder_is_private_and_a_shared_one_is_not_used(tmp_path: Path) -> None:
    _cache(tmp_path).documents(TEXT)
    for folder in (tmp_path / "detect", tmp_path / "detect" / "yaml"):
        assert folder.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    (shared / "detect" / "yaml").mkdir(parents=True)
    os.chmod(shared / "detect", 0o777)
    documents, _ = ParseCache(shared / "detect" / "yaml").documents(TEXT)
    assert documents[0].data["title"] == "cached"
    assert list((shared / "detect" / "yaml").iterdir()) == []


def test_a_cache_that_cannot_be_written_only_parses(tmp_path: Path, monkeypatch) -> None:
    writes: list[object] = []

    def full_disk(source: object, target: object) -> None:
        writes.append(target)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.os, "replace", full_disk)
    cache = _cache(tmp_path)
    assert cache.documents(TEXT)[0][0].data["title"] == "cached"
    assert cache.documents(TEXT)[0][1].line == 14
    assert len(writes) == 1  # not tried again after it failed
    assert list((tmp_path / "detect" / "yaml").iterdir()) == []  # no partial file left


def test_rules_load_the_same_through_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cache_module.OFF_ENV, raising=False)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yml").write_text(TEXT)
    bad = TEXT.replace("a1: 12", "a1|re: '(unclosed'")  # a compile error located by line
    (rules / "bad.yml").write_text(bad)
    default_cache.cache_clear()
    try:
        loads = [load_rules([rules]) for _ in range(2)]  # the second from the cache
    finally:
        default_cache.cache_clear()
    assert len(list((tmp_path / "cache" / "detect" / "yaml").glob("*.json"))) == 2
    cold, warm = loads
    assert [r.id for r in warm.rules] == [r.id for r in cold.rules]
    assert [r.source for r in warm.rules] == [r.source for r in cold.rules]
    assert warm.errors == cold.errors
    (error,) = warm.errors
    assert (Path(error.location.source).name, error.location.line) == ("bad.yml", 10)


@pytest.mark.parametrize(
    "size", [0, 1, cache_module.READ_BLOCK - 1, 3 * cache_module.READ_BLOCK + 5]
)
def test_read_whole_gives_a_file_s_bytes_and_status(tmp_path: Path, size: int) -> None:
    path = tmp_path / "file"
    data = os.urandom(size)
    path.write_bytes(data)
    raw, info = cache_module.read_whole(path)
    assert raw == data and info.st_size == size and info.st_ino == path.stat().st_ino
    assert cache_module.read_whole(str(path), most=size)[0] == data
    if size:
        assert cache_module.read_whole(path, most=size - 1) == (None, info)  # not read
    with pytest.raises(FileNotFoundError):
        cache_module.read_whole(tmp_path / "missing")


def test_a_rule_file_too_large_or_not_utf8_is_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(load_module, "MAX_FILE_BYTES", len(TEXT) - 1)
    (tmp_path / "large.yml").write_text(TEXT)
    (tmp_path / "latin1.yml").write_bytes(b"title: caf\xe9\n")
    reasons = {Path(e.location.source).name: e.reason for e in load_rules([tmp_path]).errors}
    assert reasons == {
        "large.yml": f"file larger than {len(TEXT) - 1} bytes",
        "latin1.yml": "not UTF-8: invalid continuation byte at byte 10",
    }
