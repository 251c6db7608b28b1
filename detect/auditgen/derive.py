"""What must be audited for a detection's events to exist: its `Need`s.

A need is a set of syscalls (arch-neutral names; None for every syscall) and `-F` filters that
are sound for it: every event the detection can match passes them. Each term of the detection's
condition (`terms.py`) gives one or more needs:

- record view (`service: auditd`): the record types the term requires decide whether an exit
  rule is needed at all (`mappings/auditgen.yaml`: user-space messages and standalone kernel
  records need none) and which syscalls write them; `SYSCALL: name` narrows the syscalls.
- category views: the category's syscalls (`mappings/categories.yaml`); `file_event` opens get
  the write-flag filter of the open family (`-F a2&0x243`: O_WRONLY|O_RDWR|O_CREAT|O_TRUNC, as
  detect's views decide), `Syscall:` narrows.
- filters: an absolute path equality gives `path=`, a path prefix gives `dir=` (its directory);
  `exit`, `success`, id equalities give the same filter; a negated test of an unset login uid
  gives `auid!=unset`. Several values of one field give one need per value. Network
  connections are IPv4 and IPv6 only: every socket family but the local one (`saddr_fam!=1`,
  one rule where `saddr_fam=2` and `=10` would be two; the few other families that connect,
  netlink and the like, are rare).
- programs: a need without a path whose executable is named by its file name only
  (`Image|endswith: /bash`) carries that name (`Need.program`); `generate` narrows it to the
  programs of that name installed on the host (`-F exe=`), or keeps it for every program.

Sigma compares strings case-insensitively and the kernel does not: path and executable
literals are taken as written (Linux paths are case-sensitive). A term with nothing to bound it
(no syscall and no path, or a file term without a path literal when no `scope` is given) gets no
need at all: it is left out, and `Derivation.unbounded` says why. Never a catch-all.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from detect.auditgen.safe import unsafe_value
from detect.auditgen.terms import (
    ENTRY,
    EQ,
    PREFIX,
    SUFFIX,
    Atom,
    Term,
    TooComplex,
    condition_terms,
)
from detect.core.errors import DetectError
from detect.core.resources import mapping_path
from detect.core.yamlio import parse_yaml
from detect.kernel.categories import (
    FILE_ACCESS,
    FILE_EVENT,
    NETWORK_CONNECTION,
    WRITE_FLAGS,
    WRITE_FORM,
    CategoryTable,
    load_categories,
)
from detect.matching.dispatch import RECORD_VIEW, view_of
from detect.sigma.model import Rule

ANY = "any"
RECORD_TYPE_FIELD = "type"
UNSET_VALUES = frozenset(("unset", "-1", "4294967295"))
# record-view id fields that are audit filter fields of the same name (numbers as numbers)
ID_FIELDS = ("uid", "euid", "suid", "fsuid", "auid", "gid", "egid", "sgid", "fsgid")
RECORD_ID_FIELDS = {name: name for name in ID_FIELDS}
# interpreted (upper-case) names: `root` / `unset` / a number
NAMED_ID_FIELDS = {name.upper(): name for name in ("uid", "euid", "suid", "fsuid", "auid")}
CATEGORY_FIELDS = {
    "user.id": "uid",
    "user.effective.id": "euid",
    "user.audit.id": "auid",
}
CATEGORY_PATH, CATEGORY_EXE = "file.path", "process.executable"
CATEGORY_SYSCALL, CATEGORY_SUCCESS = "auditd.syscall", "auditd.success"
CATEGORY_ERRNO = "auditd.errno"
CATEGORY_INITIATED = "network.initiated"  # `Initiated: 'true'`: the connecting syscalls only
ARGUMENT_FIELDS = ("a0", "a1", "a2", "a3")  # logged in hex
LOGIN_FIELDS = frozenset(("auid", "AUID", "user.audit.id", "user.audit.name"))
SUCCESS_VALUES = {"yes": "1", "no": "0", "true": "1", "false": "0", "1": "1", "0": "0"}
MAPPING_KEYS = frozenset(("syscall_records", "process_tree", "arches", "auditctl", "noise"))
PROCESS_TREE = "process-tree"  # what the tree's needs are served as
HOME_SCOPE = ("/home", "/root")  # where user files (~/.ssh, ~/.config) usually lie
UNBOUNDED_OPTION = "--unbounded-paths"  # the generate option that includes unbounded file terms


class DeriveError(DetectError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class Filter:
    """One `-F field OP value` a need asks for."""

    field: str
    op: str
    value: str

    def text(self) -> str:
        return f"{self.field}{self.op}{self.value}"


# network_connection views are IPv4 and IPv6 only (AF_INET, AF_INET6): in the kernel's
# saddr_fam, every family but AF_UNIX (1), a sound superset in one rule
NOT_LOCAL = Filter("saddr_fam", "!=", "1")


@dataclass(frozen=True, slots=True)
class Need:
    """Syscalls (None: every syscall) and the filters that narrow them, all sound; `program`:
    the file name every event's executable has (from `Image|endswith: /NAME`), or None."""

    syscalls: frozenset[str] | None
    filters: tuple[Filter, ...] = ()
    program: str | None = None
    entries: bool = False  # `path=` names a directory whose direct entries are the targets

    def describe(self) -> str:
        calls = "all syscalls" if self.syscalls is None else ",".join(sorted(self.syscalls))
        named = [f"exe=.../{self.program}"] if self.program else []
        return " ".join([calls, *(f.text() for f in self.filters), *named])


@dataclass
class Derivation:
    """What one detection needs, and what a reader should know about how it was found."""

    rule: Rule
    view: str | None
    needs: list[Need] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unbounded: list[str] = field(default_factory=list)  # terms left out, and why
    refused: list[str] = field(default_factory=list)  # values auditctl cannot take

    @property
    def applicable(self) -> bool:
        return self.view is not None

    @property
    def underivable(self) -> bool:
        """Audit-visible, but no term gives anything an audit rule can select."""
        return self.applicable and not self.needs and bool(self.unbounded)


@dataclass(frozen=True)
class Noise:
    """Well-known noise excluded first: an executable's calls of some syscalls."""

    exe: str
    syscalls: frozenset[str]
    why: str


@dataclass(frozen=True)
class GenTable:
    """`mappings/auditgen.yaml`, checked."""

    syscall_records: dict[str, frozenset[str] | None]  # record type -> syscalls (None: any)
    process_tree: dict[str, tuple[str, ...]]
    arches: dict[str, dict[str, str]]  # machine -> {b64: table, b32: table}
    auditctl: str = ""  # the oldest auditctl `--portable` output is written for
    unknown_names: dict[str, frozenset[str] | None] = field(default_factory=dict)  # None: all
    noise: tuple[Noise, ...] = ()

    def portable_name(self, table: str, name: str) -> bool:
        """Whether the oldest supported auditctl knows `name` in `table`."""
        unknown = self.unknown_names.get(table, frozenset())
        return unknown is not None and name not in unknown

    def tree_syscalls(self, full: bool) -> frozenset[str]:
        names = list(self.process_tree["exec"])
        if full:
            names += self.process_tree["full"]
        return frozenset(names)


@cache
def load_table(path: Path | None = None) -> GenTable:
    source = path or mapping_path("auditgen.yaml")
    data = parse_yaml(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != MAPPING_KEYS:
        raise DeriveError(f"{source}: expected the keys {', '.join(sorted(MAPPING_KEYS))}")
    records: dict[str, frozenset[str] | None] = {}
    for name, calls in data["syscall_records"].items():
        if calls != ANY and not (isinstance(calls, list) and calls):
            raise DeriveError(f"{source}: syscall_records.{name}: a list of syscalls or `any`")
        records[str(name)] = None if calls == ANY else frozenset(map(str, calls))
    tree = {str(k): tuple(map(str, v)) for k, v in data["process_tree"].items()}
    if set(tree) != {"exec", "full"}:
        raise DeriveError(f"{source}: process_tree needs exec and full")
    arches = {str(k): {str(b): str(t) for b, t in v.items()} for k, v in data["arches"].items()}
    auditctl = data["auditctl"]
    if not isinstance(auditctl, dict) or set(auditctl) != {"version", "unknown_names"}:
        raise DeriveError(f"{source}: auditctl needs version and unknown_names")
    unknown = {
        str(table): None if names == "all" else frozenset(map(str, names or ()))
        for table, names in auditctl["unknown_names"].items()
    }
    noise = tuple(_noise(source, entry) for entry in data["noise"])
    return GenTable(records, tree, arches, str(auditctl["version"]), unknown, noise)


def _noise(source: Path, entry: object) -> Noise:
    if not isinstance(entry, dict) or set(entry) != {"exe", "syscalls", "why"}:
        raise DeriveError(f"{source}: noise: each entry has exe, syscalls and why")
    exe = str(entry["exe"])
    if not exe.startswith("/") or not entry["syscalls"]:
        raise DeriveError(f"{source}: noise: {exe}: an absolute exe and a list of syscalls")
    return Noise(exe, frozenset(map(str, entry["syscalls"])), str(entry["why"]))


def derive(rule: Rule, table: GenTable | None = None, scope: tuple[str, ...] = ()) -> Derivation:
    """The needs of one detection. `scope`: the directories a file-category term without any
    path literal is assumed to be about (empty: such a term is left out)."""
    view = view_of(rule)
    found = Derivation(rule, view)
    if view is None:
        found.notes.append("its logsource is not produced from audit logs")
        return found
    table = table or load_table()
    try:
        terms = condition_terms(rule.sigma)
    except TooComplex as error:
        found.unbounded.append(str(error))
        return found
    for term in terms:
        if view == RECORD_VIEW:
            _record_term(found, term, table)
        else:
            _category_term(found, term, view, load_categories(), scope)
    found.needs = list(dict.fromkeys(found.needs))
    found.notes = list(dict.fromkeys(found.notes))
    found.unbounded = list(dict.fromkeys(found.unbounded))
    found.refused = sorted({r for n in found.needs for f in n.filters if (r := _unsafe(f))})
    if found.refused:
        found.needs = []  # the whole detection: a part of it would mislead
    return found


def _unsafe(wanted: Filter) -> str | None:
    reason = unsafe_value(wanted.value)
    return None if reason is None else f"{wanted.field}: {reason}"


def derive_all(
    rules: Iterable[Rule], table: GenTable | None = None, scope: tuple[str, ...] = ()
) -> list[Derivation]:
    return [derive(rule, table, scope) for rule in rules]


# --- record view ----------------------------------------------------------------------------


def _record_term(found: Derivation, term: Term, table: GenTable) -> None:
    types = _equal_values(term, RECORD_TYPE_FIELD, upper=True)
    syscalls: frozenset[str] | None = None
    if types == frozenset():
        return  # the term cannot hold
    if types is not None:
        bound = [t for t in sorted(types) if t in table.syscall_records]
        if not bound:
            found.notes.append(f"{', '.join(sorted(types))}: written without exit rules")
            return
        syscalls = _union_syscalls(table.syscall_records[t] for t in bound)
    named = _equal_values(term, "SYSCALL", lower=True)
    if named is not None:
        syscalls = named if syscalls is None else syscalls & named
        if not syscalls:
            return  # the term cannot hold
    path = _path_filter(term, "name") if types is None or "PATH" in types else ()
    arguments = types == frozenset(["SYSCALL"])  # a0..a3 of another record are not the call's
    filters = tuple(sorted({*path, *_record_filters(term, arguments)}))
    need = Need(syscalls, filters, _program(term, "exe", filters))
    if syscalls is None and not path:
        what = "keywords" if _keywords_only(term) else "no record type, syscall or path"
        found.unbounded.append(f"a term names nothing an audit rule can select ({what})")
        return
    found.needs.append(need)


def _keywords_only(term: Term) -> bool:
    return all(atom.field is None for atom in term)


def _record_filters(term: Term, arguments: bool = False) -> tuple[Filter, ...]:
    choices: list[list[Filter]] = []
    for atom_field, filter_field in RECORD_ID_FIELDS.items():
        choices.append(_value_filters(term, atom_field, filter_field, _number))
    for atom_field, filter_field in NAMED_ID_FIELDS.items():
        choices.append(_value_filters(term, atom_field, filter_field, _named_id))
    choices.append(_value_filters(term, "exit", "exit", _number))
    choices.append(_value_filters(term, "success", "success", SUCCESS_VALUES.get))
    choices.append(_value_filters(term, "exe", "exe", _absolute))
    if arguments:
        choices += [_value_filters(term, name, name, _hex) for name in ARGUMENT_FIELDS]
    choices.append(_login_filters(term))
    return tuple(f for choice in choices for f in choice)


# --- category views -------------------------------------------------------------------------


def _category_term(
    found: Derivation, term: Term, view: str, table: CategoryTable, scope: tuple[str, ...]
) -> None:
    syscalls = table.syscalls_of(view)
    opens = {s: form for s, form in table.opens.items() if view in (FILE_EVENT, FILE_ACCESS)}
    named = _equal_values(term, CATEGORY_SYSCALL, lower=True)
    if named is not None:
        syscalls, opens = syscalls & named, {s: f for s, f in opens.items() if s in named}
    initiated = _equal_values(term, CATEGORY_INITIATED, lower=True)
    if view == NETWORK_CONNECTION and initiated in (frozenset(["true"]), frozenset(["false"])):
        ours = table.initiated if initiated == frozenset(["true"]) else syscalls - table.initiated
        syscalls = syscalls & ours
    files = view in table.targets or bool(opens)
    path = _path_filter(term, CATEGORY_PATH) if files else ()
    paths: list[tuple[Filter, ...]] = [path]
    folders = _entry_folders(term) if view == FILE_EVENT else ()
    if folders:  # created directly in a folder: the folder's own inode, not its tree
        found.needs.extend(_entries(found, folders, syscalls, opens, _category_filters(term)))
        return
    if files and not path:
        paths = _unbounded(found, view, scope)
    family = (NOT_LOCAL,) if view == NETWORK_CONNECTION else ()
    for chosen in paths:
        base = tuple(sorted({*chosen, *family, *_category_filters(term)}))
        program = _program(term, CATEGORY_EXE, base)
        found.needs.extend(_split_opens(syscalls, opens, view, base, program))


def _entry_folders(term: Term) -> tuple[str, ...]:
    """The folders a term's target is a direct entry of (`TargetFilename|re:
    '^/tmp/\\.[^/]+$'`), the fewest when several atoms say so."""
    found = [tuple(a.value.split("\n")) for a in _positive(term, CATEGORY_PATH) if a.op == ENTRY]
    return min(found, key=lambda folders: len(folders)) if found else ()


def _entries(
    found: Derivation,
    folders: tuple[str, ...],
    syscalls: frozenset[str],
    opens: dict[str, str],
    filters: tuple[Filter, ...],
) -> list[Need]:
    """A file created directly in a folder names the folder (its PARENT record), so a rule on
    the folder's own inode (`path=`) sees it; a write to an entry that exists already names only
    the entry (O_CREAT or not: observed on the kernel), and is not seen (said in a note)."""
    names = frozenset(syscalls | set(opens))
    found.notes.append(
        f"files created directly in {', '.join(folders)} are audited by the folder's own inode "
        "(creations, renames, links, deletions: their PARENT record); a write to an entry "
        "that exists already names only the entry, and is not seen"
    )
    return [Need(names, (Filter("path", "=", f), *filters), entries=True) for f in folders]


def _unbounded(found: Derivation, view: str, scope: tuple[str, ...]) -> list[tuple[Filter, ...]]:
    """A file term without a path literal: the assumed scope, or left out."""
    if not scope:
        found.unbounded.append(
            f"no path literal bounds a {view} term (include it under chosen directories "
            f"with {UNBOUNDED_OPTION}, e.g. {UNBOUNDED_OPTION} {','.join(HOME_SCOPE)})"
        )
        return []
    found.notes.append(f"no path literal bounds a term: assumed under {', '.join(scope)}")
    return [(Filter("dir", "=", directory),) for directory in scope]


def _split_opens(
    syscalls: frozenset[str],
    opens: dict[str, str],
    view: str,
    base: tuple[Filter, ...],
    program: str | None = None,
) -> Iterator[Need]:
    """The category's syscalls as needs; a `file_event` open with its flags argument in aN
    gets the write-flag filter (one need per argument)."""
    plain = set(syscalls)
    by_arg: dict[str, set[str]] = {}
    for name, form in opens.items():
        if view == FILE_ACCESS and form == WRITE_FORM:
            continue  # creat always writes: never a file_access
        if view == FILE_EVENT and form.startswith("a"):
            by_arg.setdefault(form, set()).add(name)
        else:
            plain.add(name)
    if plain:
        yield Need(frozenset(plain), base, program)
    for arg, names in sorted(by_arg.items()):
        flag = Filter(arg, "&", hex(WRITE_FLAGS))
        yield Need(frozenset(names), tuple(sorted({*base, flag})), program)


def _category_filters(term: Term) -> tuple[Filter, ...]:
    choices = [
        _value_filters(term, atom_field, filter_field, _number)
        for atom_field, filter_field in CATEGORY_FIELDS.items()
    ]
    choices.append(_value_filters(term, CATEGORY_SUCCESS, "success", SUCCESS_VALUES.get))
    choices.append(_value_filters(term, CATEGORY_ERRNO, "exit", _errno))
    choices.append(_value_filters(term, CATEGORY_EXE, "exe", _absolute))
    choices.append(_login_filters(term))
    return tuple(f for choice in choices for f in choice)


# --- shared ---------------------------------------------------------------------------------


def _positive(term: Term, name: str) -> list[Atom]:
    return [a for a in term if a.field == name and not a.negated]


def _equal_values(
    term: Term, name: str, *, upper: bool = False, lower: bool = False
) -> frozenset[str] | None:
    """The value `name` must equal in this term (a set of one, or empty when two equalities
    disagree); None when the term does not fix it."""
    values = [a.value for a in _positive(term, name) if a.op == EQ]
    if not values:
        return None
    folded = {v.upper() if upper else v.lower() if lower else v for v in values}
    return frozenset(folded) if len(folded) == 1 else frozenset()


def _path_filter(term: Term, name: str) -> tuple[Filter, ...]:
    """The path filter a term allows: `path=` for an absolute equality, `dir=` for a prefix
    ending in a directory below `/`; none when nothing bounds the path."""
    for atom in sorted(_positive(term, name)):
        if atom.op == EQ and atom.value.startswith("/") and atom.value != "/":
            return (Filter("path", "=", posixpath.normpath(atom.value)),)
        if atom.op == PREFIX and atom.value.startswith("/"):
            directory = posixpath.normpath(atom.value.rpartition("/")[0] or "/")
            if directory != "/":
                return (Filter("dir", "=", directory),)
    return ()


def _program(term: Term, name: str, filters: tuple[Filter, ...]) -> str | None:
    """The file name the term's executable must have (`Image|endswith: /bash` -> bash), for a
    need a syscall rule serves: none with a path (a watch cannot carry `exe=`) or an `exe=`."""
    if any(f.field in ("path", "dir", "exe") for f in filters):
        return None
    names = {a.value[1:] for a in _positive(term, name) if a.op == SUFFIX and _file_name(a.value)}
    return names.pop() if len(names) == 1 else None


def _file_name(value: str) -> bool:
    """`/bash`: a slash, then a file name."""
    return value.startswith("/") and len(value) > 1 and "/" not in value[1:]


def _value_filters(
    term: Term, atom_field: str, filter_field: str, convert: Callable[[str], str | None]
) -> list[Filter]:
    """The filter when the term fixes `atom_field` by equality to one convertible value."""
    converted = {convert(a.value) for a in _positive(term, atom_field) if a.op == EQ}
    value = converted.pop() if len(converted) == 1 else None
    return [] if value is None else [Filter(filter_field, "=", value)]


def _login_filters(term: Term) -> list[Filter]:
    for atom in term:
        unset = atom.op == EQ and atom.value.lower() in UNSET_VALUES
        if atom.negated and atom.field in LOGIN_FIELDS and unset:
            return [Filter("auid", "!=", "unset")]
    return []


def _union_syscalls(parts: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    merged: set[str] = set()
    for part in parts:
        if part is None:
            return None
        merged |= part
    return frozenset(merged)


def _number(value: str) -> str | None:
    text = value.strip()
    return text if text.lstrip("-").isdigit() else None


def _named_id(value: str) -> str | None:
    lowered = value.lower()
    if lowered == "root":
        return "0"
    if lowered in UNSET_VALUES:
        return "unset"
    return _number(value)


def _errno(value: str) -> str | None:
    return f"-{value.upper()}" if value.isalpha() else None


def _hex(value: str) -> str | None:
    """A syscall argument as the log prints it (hex digits) -> `0x...` for the filter."""
    text = value.strip().lower()
    return f"0x{text}" if text and all(c in "0123456789abcdef" for c in text) else None


def _absolute(value: str) -> str | None:
    return value if value.startswith("/") else None
