"""Load Sigma rules from files and folders, collecting an error per rule that cannot be used.

Folders are searched recursively for `*.yml` and `*.yaml`, in sorted order. Each YAML document
is parsed by pySigma on its own, so an error names its file and the line of its document (or,
where it can be found, of the key it concerns); a bad document or file is reported and
skipped while the rest load. A file reached twice (the same folder given twice) is read once;
a rule, correlation or filter id given twice is loaded once, from where it came first, with a
warning naming both places (`RuleSet.warnings`); a caller that checks rules further keeps all
rules of an id and the first that passes (`dedupe=False`, then `drop_duplicate_rules`: what
pipeline.factory.load_checked does). With a cache of compiled rules (`reuse`, compiled.py), a
file compiled before is not parsed: its rules are built from the cache (docs/rule-loading.md).
What a rule must pass to run beyond Sigma (fields its view produces, ATT&CK tags…) is checked
above this package (detect.matching.checks, applied by the pipeline's loading). Documents are:

- rules, compiled once into matchers (`compile.py`);
- correlation rules (`correlation:`), returned as pySigma parsed them, for the correlation
  engine to resolve;
- filters (`filter:`, Sigma meta filters), applied with pySigma to the rules they name (by
  id or name, or `any`) and whose log source they cover: the rule's condition becomes
  `(condition) and (filter condition)`.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from detect.core.errors import Location
from detect.core.resources import ROOT
from detect.sigma.cache import default_cache, read_whole
from detect.sigma.compile import (
    CONDITION_PATH,
    CompileError,
    Placeholders,
    Recipe,
    compile_with_recipe,
    sigma_reason,
)
from detect.sigma.compiled import CORRUPT, CompiledCache, RuleCacheError, Stored, entry_key
from detect.sigma.documents import Document, line_of
from detect.sigma.locate import error_path
from detect.sigma.model import Rule, RuleError, RuleSet
from detect.sigma.packed import PackedLoad
from detect.sigma.pipeline import prepare
from detect.sigma.regex import sigma_policy

DEFAULT_RULES = ROOT / "detections"  # the shipped detections

RULE_SUFFIXES = (".yml", ".yaml")
IGNORED_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # as Path.is_file
MAX_FILE_BYTES = 16 * 1024 * 1024

Prepare = Callable[[SigmaRule], SigmaRule]
Loaded = SigmaRule | SigmaCorrelationRule | SigmaFilter
Identity = tuple[int, int] | Path  # a file's (`_identity`)


@dataclass
class Parsed:
    """A document pySigma parsed without error, with where it came from."""

    item: Loaded
    location: Location
    document: Document | None
    index: int | None = None  # the document's position in its file (None: a collection)
    compiled: tuple[int, Rule, Recipe] | None = None  # what the cache stores, once compiled

    @property
    def key(self) -> tuple[type, str] | None:
        item_id = self.item.id
        return None if item_id is None else (type(self.item), str(item_id))

    @property
    def title(self) -> str:
        return _item_title(self.item)

    def line(self, path: Sequence[str]) -> int:
        if self.document is None or not path:
            return self.location.line
        return line_of(self.document.node, path)


def load_rules(
    paths: Iterable[str | Path],
    *,
    placeholders: Placeholders | None = None,
    prepare: Prepare | None = None,
    reuse: CompiledCache | None = None,
    dedupe: bool = True,
) -> RuleSet:
    """Load and compile every rule under `paths` (files or folders).

    `placeholders` resolves the `expand` modifier (`%name%` -> values); `prepare` runs on
    each rule after filters and before compiling (e.g. a pySigma processing pipeline).
    `reuse`: a cache of compiled rules (compiled.py) to read them from and store them in; the
    caller vouches that `prepare` is the one its entries are keyed by (pipeline.prepare).
    `dedupe` off: rules of one id all load (the caller keeps the first that passes its
    checks: `drop_duplicate_rules`); correlations and filters are deduplicated here always.
    """
    result = RuleSet()
    reuse = reuse if placeholders is None else None
    with collector_paused():
        found = find_rule_files(paths, result.errors)
        texts = [_read_text(path, result.errors) for path in found]
        keys = [entry_key(text) if reuse is not None and text is not None else "" for text in texts]
        packed = None if reuse is None else PackedLoad(reuse, [key for key in keys if key])
        files = [
            _load_file(path, text, key, packed, prepare, result.errors)
            for path, text, key in zip(found, texts, keys, strict=True)
        ]
        entries = _entries(files, result.errors)
        entries = drop_duplicates(entries, result.warnings, rules=dedupe)
        parsed = [entry for entry in entries if isinstance(entry, Parsed)]
        rules = [entry for entry in parsed if isinstance(entry.item, SigmaRule)]
        filters = [entry for entry in parsed if isinstance(entry.item, SigmaFilter)]
        result.correlations = [e.item for e in parsed if isinstance(e.item, SigmaCorrelationRule)]
        apply_filters(filters, rules, result.errors)
        for entry in entries:
            if isinstance(entry, Hit) or isinstance(entry.item, SigmaRule):
                rule = _rule_of(entry, placeholders, prepare, result.errors)
                if rule is not None:
                    result.rules.append(rule)
        if packed is not None and not filters:
            for loaded in files:
                loaded.store(packed)
            packed.seal()
    result.errors.sort(key=lambda error: (error.location.source, error.location.line))
    return result


def _entries(files: list[_File], errors: list[RuleError]) -> list[Entry]:
    """The files' documents, in order; with a filter among them, every one parsed (a filter
    changes the rules it applies to: what the cache holds is the rule unfiltered)."""
    entries = [entry for loaded in files for entry in loaded.entries]
    if any(isinstance(e, Parsed) and isinstance(e.item, SigmaFilter) for e in entries):
        return [parsed for entry in entries for parsed in _parsed(entry, errors)]
    return entries


@dataclass
class Hit:
    """A rule built from the cache of compiled rules: its file was not parsed."""

    path: Path
    text: str
    index: int  # the rule's document in its file
    rule: Rule

    @property
    def location(self) -> Location:
        return self.rule.source

    @property
    def key(self) -> tuple[type, str] | None:
        return (SigmaRule, self.rule.id) if self.rule.id else None

    @property
    def title(self) -> str:
        return self.rule.title or self.rule.id


Entry = Parsed | Hit


def _remake(path: Path, key: str, index: int, prepare: Prepare | None) -> SigmaRule:
    errors: list[RuleError] = []
    text = _read_text(path, errors)
    if text is None or entry_key(text) != key:
        raise RuleCacheError(f"{path}: changed since its rules were loaded; load them again")
    document = default_cache().documents(text)[0][index]
    parsed = _parse_document(path, document, errors, index)
    if parsed is None or not isinstance(parsed.item, SigmaRule):
        raise RuleCacheError(f"{path}: no longer parses as it did")
    return parsed.item if prepare is None else prepare(parsed.item)


def _hits(
    path: Path, text: str, key: str, found: list[Stored], prepare: Prepare | None
) -> list[Hit]:
    """The rules of a file from its entry (`key`: the file's `entry_key`); pySigma's rule of
    each is made when asked for (the file read again: a rule keeps its file's name and key, not
    its text, and is parsed as a miss parses it, filters aside: none were loaded). Raises as
    `Stored.rule` does."""
    return [
        Hit(
            path,
            text,
            item.index,
            item.rule(path, partial(_remake, path, key, item.index, prepare)),
        )
        for item in found
    ]


@dataclass
class _File:
    """One rule file's entries, and, for a file the cache may hold, what compiled from it."""

    text: str
    entries: list[Parsed | Hit]
    key: str = ""  # the file's `entry_key` in the cache of compiled rules, when it has one
    storable: bool = False  # every document a rule, no error: store it once all compile

    def store(self, reuse: PackedLoad) -> None:
        if not self.storable:
            return
        compiled = [entry.compiled for entry in self.entries if isinstance(entry, Parsed)]
        if all(item is not None for item in compiled) and len(compiled) == len(self.entries):
            reuse.put(self.key, [item for item in compiled if item is not None])


def _load_file(
    path: Path,
    text: str | None,
    key: str,
    reuse: PackedLoad | None,
    prepare: Prepare | None,
    errors: list[RuleError],
) -> _File:
    """A file's rules (`text`: None, it could not be read) from the cache of compiled rules
    (`key`: its entry key), else its documents parsed (an entry that does not build is
    ignored: the file is parsed, compiled and stored again)."""
    if text is None:
        return _File("", [])
    found = reuse.rules(key) if reuse is not None else None
    if found is not None:
        try:
            return _File(text, list(_hits(path, text, key, found, prepare)), key)
        except CORRUPT:
            pass
    before = len(errors)
    parsed = parse_text(path, text, errors)
    storable = reuse is not None and len(errors) == before and bool(parsed)
    storable = storable and all(
        isinstance(entry.item, SigmaRule) and entry.index is not None for entry in parsed
    )
    return _File(text, list(parsed), key, storable)


def _parsed(entry: Parsed | Hit, errors: list[RuleError]) -> list[Parsed]:
    """`entry` as parsing gives it (a hit parsed after all: filters change rules)."""
    if isinstance(entry, Parsed):
        return [entry]
    document = default_cache().documents(entry.text)[0][entry.index]
    parsed = _parse_document(entry.path, document, errors, entry.index)
    return [] if parsed is None else [parsed]


def _rule_of(
    entry: Parsed | Hit,
    placeholders: Placeholders | None,
    prepare: Prepare | None,
    errors: list[RuleError],
) -> Rule | None:
    if isinstance(entry, Parsed):
        return compile_entry(entry, placeholders, prepare, errors)
    return entry.rule


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while rules load, back as it was after. Loading makes
    hundreds of thousands of objects that all live on (pySigma's rules, compiled tests), so
    each collection the allocations trigger walks the growing heap again: a third of the
    loading time at 5,000 rules. What loading leaves as cyclic garbage is collected later
    (the pipeline then freezes the live rules out of the collector: pipeline.factory)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_rule_files(paths: Iterable[str | Path], errors: list[RuleError]) -> list[Path]:
    """The rule files under `paths`, in order; a file reached twice (a folder given on top of
    the default set, a link) is read once, where it came first."""
    found: list[tuple[Path, Identity]] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(_rule_files(path), key=_path_order))
        elif path.is_file():
            found.append((path, _identity(path)))
        else:
            errors.append(RuleError("no such file or directory", Location(str(path))))
    seen: set[Identity] = set()
    unique = []
    for path, identity in found:
        if identity not in seen:
            seen.add(identity)
            unique.append(path)
    return unique


def _rule_files(folder: Path) -> Iterator[tuple[Path, Identity]]:
    """The rule files under `folder` with their identities, in no order: the paths of
    `folder.rglob("*")` (links to folders are not followed, a folder that cannot be listed is
    passed over) named `*.yml` or `*.yaml` that are regular files, links followed, as
    `Path.is_file` says; from one listing and one stat of each folder (and a stat of each link),
    which also give a file's identity (`_identity`: the folder's device, the listed inode):
    pathlib lists each folder twice, a file's stat twice, and the Python around it cost more
    than the calls."""
    folders = [folder]
    while folders:
        here = folders.pop()
        try:
            with os.scandir(here) as listing:
                entries = list(listing)
            device = os.stat(here).st_dev
        except PermissionError:
            continue
        for entry in entries:
            if _is_folder(entry):
                folders.append(here / entry.name)
            elif entry.name.endswith(RULE_SUFFIXES):
                found = _listed_file(here / entry.name, entry, device)
                if found is not None:
                    yield found


def _listed_file(path: Path, entry: os.DirEntry[str], device: int) -> tuple[Path, Identity] | None:
    """`_regular_file` of a listed file, without a stat of it when it is no link: the listing
    says whether it is a regular file, and gives its inode; its device is its folder's (a
    link is followed, as `_regular_file` does). Where a file system lists other inode numbers
    than stat gives (some overlay set-ups), a file both listed and named on its own is read
    twice: its rules' ids then keep the first copy, with a warning, as for any copy."""
    try:
        if entry.is_symlink():
            return _regular_file(path)
        regular = entry.is_file(follow_symlinks=False)
    except OSError as error:
        if error.errno in IGNORED_ERRNOS:
            return None
        raise
    if not regular or path.suffix not in RULE_SUFFIXES:
        return None
    return path, (device, entry.inode())


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """A folder to search (not a link to one), as rglob decides it."""
    try:
        folder = entry.is_dir()
    except OSError as error:
        if error.errno not in IGNORED_ERRNOS:
            raise
        return False
    return folder and not entry.is_symlink()


def _regular_file(path: Path) -> tuple[Path, Identity] | None:
    """`path` and its identity when it is a regular file (links followed) with a rule suffix
    (`Path.suffix`: `.yml` alone is a name, not a suffix), else None."""
    if path.suffix not in RULE_SUFFIXES:
        return None
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno in IGNORED_ERRNOS:
            return None
        raise
    return (path, (info.st_dev, info.st_ino)) if stat.S_ISREG(info.st_mode) else None


def _path_order(item: tuple[Path, Identity]) -> tuple[str, ...]:
    """Paths' own order (part by part), computed once per path rather than per comparison."""
    return item[0].parts


def _identity(path: Path) -> Identity:
    """What tells files apart: device and inode (a link, or a path given twice, is one file;
    a stat costs less than resolving every part of the path), else the resolved path."""
    try:
        info = os.stat(path)
    except OSError:
        return path.resolve()
    return (info.st_dev, info.st_ino)


def drop_duplicates(
    entries: list[Entry], warnings: list[RuleError], *, rules: bool = True
) -> list[Entry]:
    """The first rule (unless `rules` is off), correlation or filter of each id; each later one
    is left out with a warning naming both places (ids are unique in Sigma: two files claim
    one rule)."""
    first: dict[tuple[type, str], Entry] = {}
    kept: list[Entry] = []
    for entry in entries:
        key = entry.key
        if key is None or (not rules and key[0] is SigmaRule):
            kept.append(entry)
            continue
        earlier = first.setdefault(key, entry)
        if earlier is entry:
            kept.append(entry)
            continue
        warnings.append(_duplicate(key[1], earlier.location, entry.location, entry.title))
    return kept


def drop_duplicate_rules(rules: RuleSet) -> RuleSet:
    """`rules` with the first rule of each id, each later one left out with a warning naming
    both places (after the checks: a rule that fails them claims no id)."""
    first: dict[str, Rule] = {}
    kept: list[Rule] = []
    warnings = list(rules.warnings)
    for rule in rules.rules:
        earlier = first.setdefault(rule.id, rule) if rule.id else rule
        if earlier is rule:
            kept.append(rule)
        else:
            warnings.append(_duplicate(rule.id, earlier.source, rule.source, rule.title or rule.id))
    if len(kept) == len(rules.rules):
        return rules
    warnings.sort(key=lambda warning: (warning.location.source, warning.location.line))
    return replace(rules, rules=kept, warnings=warnings)


def _duplicate(item_id: str, earlier: Location, later: Location, title: str) -> RuleError:
    reason = f"id {item_id} is already loaded from {earlier}: this copy is skipped"
    return RuleError(reason, later, title)


def _item_title(item: Loaded) -> str:
    return item.title or str(item.id or "")


def read_rule_file(path: Path, errors: list[RuleError]) -> list[Parsed]:
    """The documents of one file that pySigma parsed; the others are added to `errors`."""
    text = _read_text(path, errors)
    return [] if text is None else parse_text(path, text, errors)


def parse_text(path: Path, text: str, errors: list[RuleError]) -> list[Parsed]:
    """The documents of a file's text that pySigma parsed; the others are added to `errors`."""
    documents, problem = default_cache().documents(text)
    if problem is not None:
        errors.append(RuleError(problem.reason, Location(str(path), problem.line)))
    if any(isinstance(doc.data, dict) and "action" in doc.data for doc in documents):
        return _parse_collection(path, documents, errors)
    parsed = (
        _parse_document(path, doc, errors, at)
        for at, doc in enumerate(documents)
        if doc.data is not None
    )
    return [entry for entry in parsed if entry is not None]


def _read_text(path: Path, errors: list[RuleError]) -> str | None:
    try:
        raw, _ = read_whole(path, MAX_FILE_BYTES)
        if raw is not None:
            return raw.decode("utf-8-sig")
        reason = f"file larger than {MAX_FILE_BYTES} bytes"
    except OSError as error:
        reason = f"cannot read: {error.strerror or error}"
    except UnicodeDecodeError as error:
        reason = f"not UTF-8: {error.reason} at byte {error.start}"
    errors.append(RuleError(reason, Location(str(path))))
    return None


def _parse_document(
    path: Path, document: Document, errors: list[RuleError], index: int | None = None
) -> Parsed | None:
    location = Location(str(path), document.line)
    title = _title(document.data)
    if not isinstance(document.data, dict):
        errors.append(RuleError("a rule document must be a mapping", location, title))
        return None
    source = SigmaRuleLocation(path, document.line)
    collection = _from_dicts([document.data], source, location, title, errors)
    if collection is None:
        return None
    for error in collection.errors:
        line = line_of(document.node, error_path(error, document.data))
        errors.append(RuleError(sigma_reason(error), Location(str(path), line), title))
    items: list[Loaded] = [*collection.rules, *collection.filters]
    if collection.errors or not items:
        return None
    return Parsed(items[0], location, document, index)


def _parse_collection(
    path: Path, documents: list[Document], errors: list[RuleError]
) -> list[Parsed]:
    """A file using `action: global/reset/repeat`: its documents only make sense together."""
    location = Location(str(path), documents[0].line)
    source = SigmaRuleLocation(path, documents[0].line)
    data = [doc.data for doc in documents if doc.data is not None]
    collection = _from_dicts(data, source, location, "", errors)
    if collection is None:
        return []
    errors.extend(RuleError(sigma_reason(e), location) for e in collection.errors)
    items: list[Loaded] = [*collection.rules, *collection.filters]
    return [Parsed(item, location, None) for item in items if not item.errors]


def _from_dicts(
    data: list[Any],
    source: SigmaRuleLocation,
    location: Location,
    title: str,
    errors: list[RuleError],
) -> SigmaCollection | None:
    try:
        return SigmaCollection.from_dicts(
            data,
            collect_errors=True,
            source=source,
            collect_filters=True,
            resolve_references=False,
            policy=sigma_policy(),
        )
    except SigmaError as error:
        errors.append(RuleError(sigma_reason(error), location, title))
    except Exception as error:  # pySigma on malformed (untrusted) input: report, go on
        errors.append(
            RuleError(f"malformed rule: {type(error).__name__}: {error}", location, title)
        )
    return None


def _title(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("title", "id", "name"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return ""


def apply_filters(filters: list[Parsed], rules: list[Parsed], errors: list[RuleError]) -> None:
    """Apply each filter to the rules it names; a filter that applies nowhere is reported."""
    targets = [entry.item for entry in rules if isinstance(entry.item, SigmaRule)]
    for entry in filters:
        if isinstance(entry.item, SigmaFilter):
            _apply_filter(entry.item, entry.location, targets, errors)


def _apply_filter(
    sigma_filter: SigmaFilter, location: Location, targets: list[SigmaRule], errors: list[RuleError]
) -> None:
    applied = 0
    for rule in targets:
        before = list(rule.detection.condition)
        try:
            sigma_filter.apply_on_rule(rule)
        except SigmaError as error:
            errors.append(RuleError(sigma_reason(error), location, sigma_filter.title))
            continue
        applied += rule.detection.condition != before
    if not applied:
        reason = "the filter applies to no loaded rule"
        errors.append(RuleError(reason, location, sigma_filter.title))


def compile_entry(
    entry: Parsed,
    placeholders: Placeholders | None,
    prepare: Prepare | None,
    errors: list[RuleError],
) -> Rule | None:
    sigma_rule = entry.item
    assert isinstance(sigma_rule, SigmaRule)
    title = sigma_rule.title or str(sigma_rule.id or "")
    try:
        if prepare is not None:
            sigma_rule = prepare(sigma_rule)
        rule, recipe = compile_with_recipe(sigma_rule, placeholders)
        if entry.index is not None:
            entry.compiled = (entry.index, rule, recipe)
        return rule
    except CompileError as error:
        where = Location(entry.location.source, entry.line(error.path))
        errors.append(RuleError(error.reason, where, title))
    except SigmaError as error:
        errors.append(RuleError(sigma_reason(error), entry.location, title))
    except RecursionError:
        where = Location(entry.location.source, entry.line(CONDITION_PATH))
        errors.append(RuleError("the condition nests too deeply", where, title))
    except Exception as error:  # rules are untrusted: one bad rule never stops the rest
        reason = f"cannot compile: {type(error).__name__}: {error}"
        errors.append(RuleError(reason, entry.location, title))
    return None


def load_detections(
    paths: Iterable[str | Path] = (),
    *,
    default: bool = True,
    reuse: CompiledCache | None = None,
    dedupe: bool = True,
) -> RuleSet:
    """Sigma rules from `paths`, after the shipped detections (DEFAULT_RULES) unless `default`
    is False; field names mapped onto the views (mappings/sigma). `reuse` and `dedupe` as for
    `load_rules`."""
    chosen = [*([DEFAULT_RULES] if default else []), *paths]
    return load_rules(chosen, prepare=prepare, reuse=reuse, dedupe=dedupe)
