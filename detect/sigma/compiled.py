"""A cache of compiled rules, keyed by their file's content: a hit skips YAML and pySigma.

Loading a rule costs about 0.5 ms (pySigma's `from_dicts` builds and checks its objects, we
compile the condition); 5,000 rules cost seconds at every start. A rule file whose documents
are all rules that loaded and compiled without error is stored once compiled: each rule's
metadata, the fields of its detection items and its keys beyond Sigma (what the checks and
the engine read), the recipe of its condition (`compile.compile_recipe`: plain data naming
each node and value test), and the cache's `Hints` of it (the engine's index clauses, which
the pipeline asks for: matching.dispatch.index_hints). On a hit the plan is built from the
recipe (`compile.build_plan`, the same function that builds it on a miss) when first asked
for: a rule the index never selects (most of 5,000) never builds it, and its recipe stays the
JSON text the entry holds it as (one string, not the ~110 objects of the decoded recipe: 25
of the 43 MB 5,000 rules took were decoded recipes); and pySigma's rule is made from the
file's text only if something asks for it (`Rule.sigma`: validation, audit rule generation).

An entry is keyed by the SHA-256 of the file's text and of what compiling depends on
(`FORMAT`, the versions of detect, pySigma, PyYAML and RE2, the source of every module of
this package, the field mappings `prepare` applies): editing the compiler or a mapping
invalidates every entry. It lives in `$XDG_CACHE_HOME/detect/rules` beside the YAML cache,
with the same rules (cache.Store: 0600 files in a 0700 folder of the user's, pruned of what
was not used for 30 days and down to 256 MB). Entries are not trusted: one that does not
read back exactly (cut short, altered, another format, of other text, hints of other code) is
ignored and written again; a recipe that does not build (altered with its digest) is compiled
from its file instead, when first asked for. Files with filters, correlations, `action:`
collections or any error are never stored; nor is anything when placeholders (`expand`) are
configured. `DETECT_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Final

import orjson
import yaml

from detect.core.errors import DetectError, Location
from detect.sigma.cache import OFF_ENV, Store, cache_root, exact, salt_of, salted_key
from detect.sigma.compile import MAX_DEPTH, Recipe, build_plan, compile_condition
from detect.sigma.condition import Node, depth
from detect.sigma.model import Condition, LogSource, Origin, Rule, unbuilt
from detect.sigma.pipeline import default_paths

# Bump when what an entry holds changes. 2: string tests by kind and items, a list as one test.
# 3: each rule's hints (the engine's index clauses) and their version.
# 4: a rule's recipe as its JSON text (decoded when its plan is built).
FORMAT: Final = 4
FOLDER: Final = "rules"
VERSIONED: Final = ("detect", "pysigma", "PyYAML", "google-re2")
META: Final = ("id", "title", "description")  # strings
OPTIONAL: Final = ("name", "level", "status")  # strings or null
LISTS: Final = ("references", "tags", "falsepositives", "fields")  # lists of strings
# What a corrupt entry can raise while it is read back and built.
CORRUPT: Final = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


@dataclass(frozen=True)
class Stored:
    """A compiled rule as an entry holds it: the rule's document (its position in the file
    and its first line) and what makes the `Rule` (`rule`)."""

    index: int
    line: int
    data: dict[str, Any]

    def rule(self, path: Path, make_sigma: Callable[[], Any]) -> Rule:
        """The `Rule`, as compiling gave it (raises on an entry not as written); its plan is
        built from the recipe when first asked for (`model.Condition`)."""
        data = self.data
        product, category, service = data["logsource"]
        origin = Origin(None, make_sigma)
        return Rule(
            id=data["id"],
            name=data["name"],
            title=data["title"],
            level=data["level"],
            status=data["status"],
            description=data["description"],
            references=tuple(data["references"]),
            tags=tuple(data["tags"]),
            falsepositives=tuple(data["falsepositives"]),
            logsource=LogSource(product, category, service),
            source=Location(str(path), self.line),
            fields=tuple(data["fields"]),
            attributes=data["attributes"],
            origin=origin,
            condition=Condition(None, partial(_plan_of, data["recipe"], origin)),
            match=unbuilt,
            hints=data["hints"],
        )


def _plan_of(recipe: str, origin: Origin) -> Node:
    """The plan a stored recipe (its JSON text) names. The entry's digest says it is the recipe
    that built a plan when the entry was written, by this code (entries are keyed by its
    source), so it builds again; one that does not (an entry altered with its digest) is not
    trusted: the plan is compiled from the rule's file, as a miss compiles it."""
    try:
        plan = build_plan(read_json(recipe.encode()))
        if depth(plan) <= MAX_DEPTH:
            return plan
    except CORRUPT:
        pass
    return compile_condition(origin.rule())


class RuleCacheError(DetectError):
    """pySigma's rule of a rule read from the cache of compiled rules cannot be made (its file
    changed since: load the rules again); needed by `Rule.sigma`, and by a plan whose stored
    recipe does not build (`_plan_of`)."""


@dataclass(frozen=True)
class Hints:
    """What a cache stores with each rule for its reader, beyond the rule: `make(rule)` gives
    it as JSON data (the engine's index clauses: matching.dispatch.index_hints), `version`
    names the code that makes it (its source: an entry made by other code is compiled again).
    A cache without one stores none, and gives rules read back none."""

    version: str
    make: Callable[[Rule], object]


class CompiledCache:
    """Compiled rules by their file's content, in `folder` (None: nothing is stored), with
    `hints` stored beside each rule."""

    def __init__(self, folder: Path | None, hints: Hints | None = None) -> None:
        self.store = Store(folder)
        self.hints = hints

    def rules(self, key: str) -> list[Stored] | None:
        """The stored rules of the file whose `entry_key` this is, or None (not stored, or
        unusable)."""
        found = self.entry(key)
        return None if found is None else found[0]

    def entry(self, key: str) -> tuple[list[Stored], bytes] | None:
        """`rules(key)`, and the body of the entry they were read from (packed.py packs the
        bodies of a rule set's files into one entry)."""
        if not self.store.ready():
            return None
        raw = self.store.read(key)
        if raw is None:
            return None
        head, _, body = raw.partition(b"\n")
        try:
            return decode_entry(key, head, body, self.hints), body
        except CORRUPT:
            return None  # compiled again and written over

    def put(self, key: str, rules: list[tuple[int, Rule, Recipe]]) -> bytes | None:
        """Store the compiled rules (document index, rule, recipe), every one of them, of the
        file whose `entry_key` this is; the body of the entry written, if one was."""
        if not rules or not self.store.ready():
            return None
        entry = encode_entry(key, rules, self.hints)
        if entry is None:
            return None
        self.store.write(key, entry)
        return entry.partition(b"\n")[2]


def encode_entry(
    key: str, rules: list[tuple[int, Rule, Recipe]], hints: Hints | None = None
) -> bytes | None:
    """The entry of a file's rules; None when JSON would not give a rule back exactly (its keys
    beyond Sigma are the rule file's data: anything YAML makes; all else is made by us)."""
    items = []
    for index, rule, recipe in rules:
        data = {
            "id": rule.id,
            "name": rule.name,
            "title": rule.title,
            "level": rule.level,
            "status": rule.status,
            "description": rule.description,
            "references": list(rule.references),
            "tags": list(rule.tags),
            "falsepositives": list(rule.falsepositives),
            "logsource": [rule.logsource.product, rule.logsource.category, rule.logsource.service],
            "fields": list(rule.fields),
            "attributes": rule.attributes,
            "recipe": json.dumps(recipe, allow_nan=True),  # read when the plan is built
            "hints": None if hints is None else hints.make(rule),
        }
        dates: list[list[Any]] = []  # the rest is str, numbers, None and lists by making
        if not exact(rule.attributes, [], dates) or dates or not _well_typed(data):
            return None
        items.append({"index": index, "line": rule.source.line, "rule": data})
    body = json.dumps(items, allow_nan=True).encode()
    return head_line(key, body, hints) + body


def head_line(key: str, body: bytes, hints: Hints | None, **more: object) -> bytes:
    """An entry's first line: its format, its key, the SHA-256 of its `body` (what follows)
    and the version of its hints, then `more` (`checked_head` reads it)."""
    version = None if hints is None else hints.version
    digest = hashlib.sha256(body).hexdigest()
    head = {"format": FORMAT, "key": key, "digest": digest, "hints": version, **more}
    return json.dumps(head).encode() + b"\n"


def decode_entry(key: str, head: bytes, body: bytes, hints: Hints | None = None) -> list[Stored]:
    """The rules of an entry: its first line (`head_line`), then the rules as JSON (raises
    ValueError and co. on any entry not as written, or whose hints other code made). Without
    `hints`, rules come without theirs."""
    entry = checked_head(key, head, hints)
    if hashlib.sha256(body).hexdigest() != entry["digest"]:
        raise ValueError("altered")
    return stored_rules(read_json(body), hints)


def checked_head(key: str, head: bytes, hints: Hints | None) -> dict[str, Any]:
    """The head of an entry (format, key, the SHA-256 of its body, the version of its hints)
    when it says it is the entry of `key`, written by this code (raises otherwise)."""
    entry = read_json(head)
    if type(entry) is not dict or entry["format"] != FORMAT or entry["key"] != key:
        raise ValueError("another entry")
    if hints is not None and entry["hints"] != hints.version:
        raise ValueError("hints of other code")
    return entry


def stored_rules(items: Any, hints: Hints | None) -> list[Stored]:
    """The rules of an entry's decoded body (raises on one not as written)."""
    if type(items) is not list:
        raise ValueError("bad entry")
    stored = []
    for item in items:
        index, line, data = item["index"], item["line"], item["rule"]
        if type(index) is not int or type(line) is not int or not _well_typed(data):
            raise ValueError("bad entry")
        if hints is None:
            data["hints"] = None
        stored.append(Stored(index, line, data))
    if not stored:
        raise ValueError("empty")
    return stored


def read_json(raw: bytes) -> Any:
    """orjson's reading (4-5x the standard library's on these entries: a third of a cached
    load's time went to it), or the standard library's for what orjson refuses and
    `encode_entry` may write (NaN and infinities; integers past 64 bits): the same values."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _well_typed(data: dict[str, Any]) -> bool:
    """Whether an entry's rule has the types a rule's data has (loops, not generators: this
    runs for every rule loaded)."""
    for name in META:
        if type(data[name]) is not str:
            return False
    for name in OPTIONAL:
        if not _text_or_none(data[name]):
            return False
    for name in LISTS:
        if not _texts(data[name]):
            return False
    source = data["logsource"]
    if type(source) is not list or len(source) != 3:
        return False
    for part in source:
        if not _text_or_none(part):
            return False
    return type(data["attributes"]) is dict and type(data["recipe"]) is str and "hints" in data


def _text_or_none(value: object) -> bool:
    return value is None or type(value) is str


def _texts(value: object) -> bool:
    if type(value) is not list:
        return False
    for item in value:  # noqa: SIM110 - once per rule loaded, no generator
        if type(item) is not str:
            return False
    return True


def entry_key(text: str) -> str:
    """The SHA-256 of the file's text and of everything compiling it depends on."""
    return salted_key(_salt(), text)


@cache
def _salt() -> bytes:
    """The format, the versions of what compiles, the source of this package's modules (a
    source checkout changes without a version) and the field mappings."""
    sources = [*sorted(Path(__file__).parent.glob("*.py")), *default_paths()]
    return salt_of([str(FORMAT), yaml.__version__], VERSIONED, sources)


@cache
def default_compiled_cache(hints: Hints | None = None) -> CompiledCache:
    """The process's cache of compiled rules storing `hints` (made on first use: nothing at
    import)."""
    if os.environ.get(OFF_ENV) == "1":
        return CompiledCache(None)
    root = cache_root()
    return CompiledCache(None if root is None else root / FOLDER, hints)
