"""Audit keys that lead back to detections, and the key map written beside the rules.

A generated rule carries one key (at most `MAX_KEY` bytes, auditctl's limit here is 31 per
key): the file name of the one detection it serves (`exec_from_temp_dir`; a longer name is cut
and ends in a hash of the detection's id), or `detect-` and a short hash of the ids of the
several detections it serves. The key map (`*.keys.json`) lists,
for each key, the detections behind it (id, title, file), so an event's key names them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detect.core.errors import DetectError

MAX_KEY = 31
HASH_LENGTH = 8
MULTI_PREFIX = "detect-"
KEY_CHARS_RE = re.compile(r"[^A-Za-z0-9_.-]+")


class KeyMapError(DetectError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class Served:
    """A detection (or the process tree) a rule is generated for."""

    id: str
    title: str
    source: str = ""  # the detection's file, relative to where the rules were generated from

    @property
    def stem(self) -> str:
        """The file name as a key; a longer one is cut and told apart by a hash of the id."""
        name = KEY_CHARS_RE.sub("_", Path(self.source).stem if self.source else self.id)
        if len(name) <= MAX_KEY:
            return name or "detect"
        digest = hashlib.sha1(self.id.encode()).hexdigest()[:HASH_LENGTH]
        return f"{name[: MAX_KEY - HASH_LENGTH - 1]}-{digest}"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "file": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Served:
        return cls(str(data["id"]), str(data["title"]), str(data.get("file", "")))


def key_for(served: Iterable[Served]) -> str:
    """The key of a rule serving `served`: stable under order, at most MAX_KEY bytes."""
    chosen = sorted(set(served))
    if len(chosen) == 1:
        return chosen[0].stem
    digest = hashlib.sha1("\n".join(s.id for s in chosen).encode()).hexdigest()
    return MULTI_PREFIX + digest[:HASH_LENGTH]


@dataclass
class KeyMap:
    """key -> the detections its rules serve."""

    keys: dict[str, tuple[Served, ...]] = field(default_factory=dict)

    def add(self, key: str, served: Iterable[Served]) -> None:
        chosen = tuple(sorted(set(served)))
        known = self.keys.get(key)
        if known is not None and known != chosen:
            raise KeyMapError(f"key {key} would name two sets of detections")
        if len(key.encode()) > MAX_KEY:
            raise KeyMapError(f"key {key} is longer than {MAX_KEY} bytes")
        self.keys[key] = chosen

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {key: [s.to_dict() for s in served] for key, served in sorted(self.keys.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyMap:
        if not isinstance(data, dict):
            raise KeyMapError("a key map is an object of key -> detections")
        return cls({key: tuple(Served.from_dict(s) for s in items) for key, items in data.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
