"""The offline ATT&CK catalog: techniques, tactics, replacements and auditd channels.

The data is `mappings/attack/enterprise-attack-<version>.json`, built from MITRE's STIX bundle by
`scripts/gen_attack_catalog.py`. Nothing is read at import time: `load_catalog()` reads the
built-in file once, on first use. A malformed file raises `CatalogError` naming the file and the
JSON pointer of the offending value.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from detect.core.errors import DetectError
from detect.core.resources import mapping_path

FORMAT_VERSION = 1
CATALOG_DIR = mapping_path("attack")
CATALOG_FILE = "enterprise-attack-19.1.json"
TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")
TACTIC_ID = re.compile(r"TA\d{4}")
SHORT_NAME = re.compile(r"[a-z]+(?:-[a-z]+)*")
STATUSES = ("active", "revoked", "deprecated")
LINUX = "Linux"


class CatalogError(DetectError, ValueError):
    """A catalog file that does not hold what the loader expects, with where it went wrong."""

    def __init__(self, message: str, source: str = "", where: str = "") -> None:
        self.message = message
        self.source = source
        self.where = where
        super().__init__(str(self))

    def __str__(self) -> str:
        place = ":".join(part for part in (self.source, self.where) if part)
        return f"{place}: {self.message}" if place else self.message

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CatalogError):
            return NotImplemented
        return (self.message, self.source, self.where) == (other.message, other.source, other.where)

    def __hash__(self) -> int:
        return hash((self.message, self.source, self.where))


class _Node:
    """A JSON value with its location, for strict reading with precise errors: its JSON
    pointer (`where`) is written only for an error (the catalog's ~20,000 values are read at
    every start of `detect`)."""

    __slots__ = ("key", "parent", "source", "value")

    def __init__(
        self, value: Any, source: str, parent: _Node | None = None, key: str | int = ""
    ) -> None:
        self.value = value
        self.source = source
        self.parent = parent
        self.key = key

    @property
    def where(self) -> str:
        parts: list[str] = []
        node: _Node | None = self
        while node is not None and node.parent is not None:
            parts.append(f"/{node.key}")
            node = node.parent
        return "".join(reversed(parts))

    def fail(self, message: str) -> NoReturn:
        raise CatalogError(message, self.source, self.where or "/")

    def child(self, key: str | int, value: Any) -> _Node:
        return _Node(value, self.source, self, key)

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            self.fail(f"expected an object, found {type(self.value).__name__}")
        return self.value

    def get(self, key: str, default: Any = ...) -> _Node:
        data = self.obj()
        if key not in data:
            if default is ...:
                self.fail(f"missing key {key!r}")
            return self.child(key, default)
        return self.child(key, data[key])

    def items(self) -> Iterator[tuple[str, _Node]]:
        for key, value in self.obj().items():
            yield key, self.child(key, value)

    def elements(self) -> list[_Node]:
        if not isinstance(self.value, list):
            self.fail(f"expected a list, found {type(self.value).__name__}")
        return [self.child(index, value) for index, value in enumerate(self.value)]

    def text(self, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(self.value, str) or not self.value:
            self.fail("expected a non-empty string")
        if pattern is not None and not pattern.fullmatch(self.value):
            self.fail(f"{self.value!r} does not match {pattern.pattern}")
        return self.value

    def texts(self, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        return tuple(node.text(pattern) for node in self.elements())

    def optional_text(self, pattern: re.Pattern[str] | None = None) -> str | None:
        return None if self.value is None else self.text(pattern)


@dataclass(frozen=True, slots=True)
class Tactic:
    id: str
    short_name: str
    name: str
    url: str
    order: int

    @classmethod
    def from_node(cls, node: _Node, order: int) -> Tactic:
        return cls(
            id=node.get("id").text(TACTIC_ID),
            short_name=node.get("short_name").text(SHORT_NAME),
            name=node.get("name").text(),
            url=node.get("url").text(),
            order=order,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "short_name": self.short_name, "name": self.name, "url": self.url}


@dataclass(frozen=True, slots=True)
class AuditdChannel:
    """One auditd log source that one of MITRE's analytics names for a technique."""

    analytic: str
    strategy: str
    source: str
    channel: str
    data_component: str
    record_types: tuple[str, ...] = ()
    syscalls: tuple[str, ...] = ()

    @classmethod
    def from_node(cls, node: _Node) -> AuditdChannel:
        return cls(
            analytic=node.get("analytic").text(),
            strategy=node.get("strategy").text(),
            source=node.get("source").text(),
            channel=node.get("channel").text(),
            data_component=node.get("data_component").text(),
            record_types=node.get("record_types", []).texts(),
            syscalls=node.get("syscalls", []).texts(),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "analytic": self.analytic,
            "strategy": self.strategy,
            "source": self.source,
            "channel": self.channel,
            "data_component": self.data_component,
            "record_types": list(self.record_types),
            "syscalls": list(self.syscalls),
        }


@dataclass(frozen=True, slots=True)
class Technique:
    """A technique or sub-technique; `tactics` are tactic ids in matrix order.

    `replaced_by` is the active technique a revoked one resolves to (following every revoked-by
    step), or, for a deprecated one, what MITRE's deprecation note suggests using instead.
    `legacy_tactics` are its tactics in the previous ATT&CK release (None: not active there).
    """

    id: str
    name: str
    status: str
    tactics: tuple[str, ...]
    platforms: tuple[str, ...]
    url: str
    parent: str | None = None
    replaced_by: tuple[str, ...] = ()
    revoked_by: str | None = None
    legacy_tactics: tuple[str, ...] | None = None
    auditd: tuple[AuditdChannel, ...] = ()

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_subtechnique(self) -> bool:
        return self.parent is not None

    @classmethod
    def from_node(cls, tid: str, node: _Node) -> Technique:
        legacy = node.get("legacy_tactics", None)
        status = node.get("status").text()
        if status not in STATUSES:
            node.get("status").fail(f"unknown status {status!r}")
        return cls(
            id=tid,
            name=node.get("name").text(),
            status=status,
            tactics=node.get("tactics").texts(TACTIC_ID),
            platforms=node.get("platforms").texts(),
            url=node.get("url").text(),
            parent=node.get("parent", None).optional_text(TECHNIQUE_ID),
            replaced_by=node.get("replaced_by", []).texts(TECHNIQUE_ID),
            revoked_by=node.get("revoked_by", None).optional_text(TECHNIQUE_ID),
            legacy_tactics=None if legacy.value is None else legacy.texts(TACTIC_ID),
            auditd=tuple(AuditdChannel.from_node(n) for n in node.get("auditd", []).elements()),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "tactics": list(self.tactics),
            "platforms": list(self.platforms),
            "url": self.url,
        }
        optional = {
            "parent": self.parent,
            "replaced_by": list(self.replaced_by),
            "revoked_by": self.revoked_by,
            "legacy_tactics": None if self.legacy_tactics is None else list(self.legacy_tactics),
            "auditd": [channel.to_dict() for channel in self.auditd],
        }
        data.update({key: value for key, value in optional.items() if value not in (None, [])})
        return data


def normalize_tactic_key(key: str) -> str:
    """`Defense_Evasion`, `defense evasion`, `defense-evasion` → `defense-evasion`."""
    return re.sub(r"[\s_]+", "-", key.strip().lower())


@dataclass(frozen=True)
class Catalog:
    version: str
    legacy_version: str
    domain: str
    header: Mapping[str, Any]
    notices: tuple[str, ...]
    tactics: tuple[Tactic, ...]
    techniques: Mapping[str, Technique]
    tactic_aliases: Mapping[str, str]
    _tactic_index: Mapping[str, Tactic] = field(repr=False, compare=False)

    # -- lookups -------------------------------------------------------------------------------

    def technique(self, technique_id: str) -> Technique | None:
        """Technique by ATT&CK id, any case (`t1059.004`); revoked ids are returned as such."""
        return self.techniques.get(technique_id.strip().upper())

    def tactic(self, key: str) -> Tactic | None:
        """Tactic by id (`TA0005`), short name in any spelling, or an older release's name."""
        return self._tactic_index.get(normalize_tactic_key(key))

    def is_legacy_tactic_name(self, key: str) -> bool:
        return normalize_tactic_key(key) in self.tactic_aliases

    def legacy_short_name(self, tactic_id: str) -> str:
        """The tactic's short name in the previous release (`TA0005` → `defense-evasion`)."""
        for alias, target in self.tactic_aliases.items():
            if target == tactic_id:
                return alias
        tactic = self.tactic(tactic_id)
        return tactic.short_name if tactic else tactic_id

    def replacement(self, technique_id: str) -> Technique | None:
        """The active technique a revoked id resolves to; None if the id is not revoked."""
        technique = self.technique(technique_id)
        if technique is None or technique.status != "revoked":
            return None
        return self.techniques[technique.replaced_by[0]]

    def tactics_in_order(self) -> tuple[Tactic, ...]:
        return self.tactics

    def active_techniques(self) -> list[Technique]:
        return [t for t in self.techniques.values() if t.is_active]

    def techniques_of_tactic(self, tactic_id: str, platform: str | None = None) -> list[Technique]:
        return [
            t
            for t in self.active_techniques()
            if tactic_id in t.tactics and (platform is None or platform in t.platforms)
        ]

    def linux_auditd_techniques(self) -> list[Technique]:
        """Active Linux techniques for which MITRE's analytics name auditd channels."""
        return [t for t in self.active_techniques() if LINUX in t.platforms and t.auditd]

    # -- reading -------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, source: str = "<catalog>") -> Catalog:
        root = _Node(data, source)
        if root.get("format").value != FORMAT_VERSION:
            root.get("format").fail(f"unsupported format, expected {FORMAT_VERSION}")
        attack = root.get("attack")
        tactics = tuple(
            Tactic.from_node(n, i) for i, n in enumerate(root.get("tactics").elements())
        )
        techniques = {
            node_id: Technique.from_node(node_id, node)
            for node_id, node in _checked_ids(root.get("techniques"))
        }
        aliases = {key: node.text(TACTIC_ID) for key, node in root.get("tactic_aliases").items()}
        _check_tactics(root.get("tactics"), tactics, aliases)
        _check_techniques(root.get("techniques"), techniques, {t.id for t in tactics})
        return cls(
            version=attack.get("version").text(),
            legacy_version=root.get("legacy").get("version").text(),
            domain=attack.get("domain").text(),
            header=MappingProxyType(dict(attack.obj())),
            notices=root.get("notices").texts(),
            tactics=tactics,
            techniques=MappingProxyType(techniques),
            tactic_aliases=MappingProxyType(aliases),
            _tactic_index=MappingProxyType(_tactic_index(tactics, aliases)),
        )


def _checked_ids(node: _Node) -> Iterator[tuple[str, _Node]]:
    for key, child in node.items():
        if not TECHNIQUE_ID.fullmatch(key):
            child.fail(f"{key!r} is not a technique id")
        yield key, child


def _tactic_index(tactics: tuple[Tactic, ...], aliases: Mapping[str, str]) -> dict[str, Tactic]:
    by_id = {t.id: t for t in tactics}
    index = {normalize_tactic_key(t.id): t for t in tactics}
    index.update({t.short_name: t for t in tactics})
    index.update({alias: by_id[tid] for alias, tid in aliases.items()})
    return index


def _check_tactics(node: _Node, tactics: tuple[Tactic, ...], aliases: Mapping[str, str]) -> None:
    ids = [t.id for t in tactics]
    names = [t.short_name for t in tactics]
    if not tactics:
        node.fail("no tactics")
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        node.fail("duplicate tactic id or short name")
    for alias, tid in aliases.items():
        if tid not in ids:
            node.fail(f"tactic alias {alias!r} names unknown tactic {tid}")
        if alias in names or normalize_tactic_key(alias) != alias:
            node.fail(f"tactic alias {alias!r} clashes with a short name or is not normalized")


def _check_techniques(node: _Node, techniques: dict[str, Technique], tactic_ids: set[str]) -> None:
    for tid, technique in techniques.items():
        problem = _technique_problem(technique, techniques, tactic_ids)
        if problem:
            node.child(tid, None).fail(problem)


def _technique_problem(
    technique: Technique, techniques: Mapping[str, Technique], tactic_ids: set[str]
) -> str | None:
    unknown = set(technique.tactics) | set(technique.legacy_tactics or ())
    if unknown - tactic_ids:
        return f"unknown tactics {sorted(unknown - tactic_ids)}"
    if ("." in technique.id) != (technique.parent is not None):
        return "a sub-technique id needs a parent and only a sub-technique has one"
    if technique.parent and (
        technique.parent not in techniques or not technique.id.startswith(technique.parent + ".")
    ):
        return f"parent {technique.parent} is not this technique's parent"
    for target in technique.replaced_by:
        if target not in techniques or not techniques[target].is_active:
            return f"replaced_by {target} is not an active technique"
    return _status_problem(technique, techniques)


def _status_problem(technique: Technique, techniques: Mapping[str, Technique]) -> str | None:
    if technique.status == "revoked":
        if len(technique.replaced_by) != 1 or technique.revoked_by not in techniques:
            return "a revoked technique needs revoked_by and exactly one replacement"
    elif technique.revoked_by is not None:
        return "only a revoked technique has revoked_by"
    if technique.status == "active" and technique.replaced_by:
        return "an active technique has no replacement"
    return None


def read_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read catalog: {exc.strerror}", str(path)) from exc
    except json.JSONDecodeError as exc:
        where = f"{exc.lineno}:{exc.colno}"
        raise CatalogError(f"invalid JSON: {exc.msg}", str(path), where) from exc
    return Catalog.from_dict(data, source=str(path))


@functools.cache
def _builtin_catalog() -> Catalog:
    return read_catalog(CATALOG_DIR / CATALOG_FILE)


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog at `path`, or the built-in one (read once, then cached)."""
    return _builtin_catalog() if path is None else read_catalog(path)
