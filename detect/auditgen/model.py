"""Audit rules as auditctl reads them: one dataclass per kind of line, each parsing and writing
itself from and to auditctl's option tokens (`detect.auditgen.parse` splits text into tokens,
`detect.auditgen.write` joins tokens back into canonical text).

Kinds of line: `Control` (`-D`, `-b 8192`, `-e 1`, `--loginuid-immutable`, ...), `SyscallRule`
(`-a`/`-A`/`-d LIST,ACTION` with `-S`, `-F`, `-C`, `-k` parts), `Watch` (`-w`/`-W PATH -p rwxa
-k KEY`), `Comment` and `Blank`. Syscall rules and watches are the audit rules (`AuditRule`:
auditctl's, not Sigma's). An `AuditRuleFile` holds the lines in order with their line numbers.

Text and meaning. A rule keeps its parts as written (`-S a,b -S c` stays two `-S` options;
`-F auid!=-1` keeps `-1`; `-k k` and `-F key=k` stay distinct), so writing a parsed rule gives
the same options back. What the kernel gets is `meaning()`: an `AuditRuleMeaning` with the list
and action numbers resolved, syscall names resolved to numbers for the rule's arch, and every
`-F` value normalised as auditctl would send it. Equivalences `meaning()` makes explicit:

- `-a exit,always` == `-a always,exit` (list and action in either order);
- `-S open,truncate` == `-S open -S truncate`; no `-S` on the exit list == `-S all`;
- `-F auid!=unset` == `-F auid!=-1` == `-F auid!=4294967295` (the unset id, 2**32 - 1);
- `-F exit=-EACCES` == `-F exit=-13`; `-F arch=b64` == `-F arch=x86_64` on an x86_64 machine;
- `-F a0=0x4` == `-F a0=4` (numbers are C `strtol` base 0: hex `0x`, octal leading `0`);
- `-F msgtype=EXECVE` == `-F msgtype=1309`; `-F perm=wa` == `-F perm=aw` (a bit set);
- `-k a -k b` == `-F key=a -F key=b`: one key field, the keys joined by `\\x01`;
- `-w /etc/passwd -p wa -k k` == `-a always,exit -F path=/etc/passwd -F perm=wa -F key=k`
  when the path is a file, and `-F dir=` when it is a directory (auditctl decides by a
  trailing `/`, which it trims, or by looking at the file system: `Watch.meaning(is_dir=...)`
  takes the latter as an argument);
  `-w PATH` without `-p` watches `rwxa`; `-W` removes the rule `-w` added.

Semantic tables (field, operator, list and comparison numbers) are data in
`mappings/audit_rules.tsv`, loaded once on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from detect.auditgen.values import (
    EQUALITY_ONLY,
    FIELD_ALIASES,
    STRING_FIELDS,
    SYSCALL_TOKEN_RE,
    arch_of,
    audit_rule_table,
    check_field_value,
    fail,
    normalize_value,
    perm_bits,
    perm_value,
)
from detect.core.errors import Location
from detect.kernel import tables

LISTS = ("exit", "task", "user", "exclude", "filesystem", "io_uring")
OBSOLETE_LISTS = ("entry",)
ACTIONS = ("always", "never")
OPS = ("!=", "<=", ">=", "&=", "=", "<", ">", "&")  # longest first: how a field splits
FIELD_RE = re.compile(rf"([a-z_][a-z0-9_]*)({'|'.join(map(re.escape, OPS))})(.*)\Z", re.S)
STRING_OPS = ("=", "!=")
WATCH_DEFAULT_PERMS = "rwxa"
ALL_SYSCALLS = "all"
KEY_SEPARATOR = "\x01"  # how auditctl joins repeated keys into one key field
MAX_KEY_LEN = 256  # AUDIT_MAX_KEY_LEN: all keys of a rule, joined by \x01
MAX_FIELDS = 64  # AUDIT_MAX_FIELDS
# Controls: option -> whether it takes a value.
CONTROLS: dict[str, bool] = {
    "-D": False,
    "-b": True,
    "-f": True,
    "-r": True,
    "-e": True,
    "-i": False,
    "-c": False,
    "-t": False,
    "--backlog_wait_time": True,
    "--loginuid-immutable": False,
    "--reset-lost": False,
    "--reset_backlog_wait_time_actual": False,
}
CONTROL_VALUES: dict[str, tuple[str, ...]] = {"-e": ("0", "1", "2"), "-f": ("0", "1", "2")}
RULE_COMMANDS = ("-a", "-A", "-d")
WATCH_COMMANDS = ("-w", "-W")


@dataclass(frozen=True, slots=True)
class Syscalls:
    """One `-S` option: `-S open,openat` is names ("open", "openat"); `-S all` is ("all",)."""

    names: tuple[str, ...]

    @classmethod
    def from_value(cls, value: str) -> Syscalls:
        names = tuple(value.split(","))
        if not all(SYSCALL_TOKEN_RE.fullmatch(name) for name in names):
            raise fail("bad syscall list", value)
        return cls(names)

    def tokens(self) -> list[str]:
        return ["-S", ",".join(self.names)]


@dataclass(frozen=True, slots=True)
class Field:
    """One `-F name OP value` filter, the value as written (quotes removed)."""

    name: str
    op: str
    value: str

    @classmethod
    def from_value(cls, text: str) -> Field:
        found = FIELD_RE.match(text)
        if found is None:
            raise fail("a field is NAME OP VALUE, OP one of = != < > <= >= & &=", text)
        name, op, value = found[1], found[2], found[3]
        canonical = FIELD_ALIASES.get(name, name)
        if canonical not in audit_rule_table().kinds["field"] or canonical == "field_compare":
            raise fail(f"unknown field {name}", text)
        if canonical in STRING_FIELDS | EQUALITY_ONLY and op not in STRING_OPS:
            raise fail(f"field {name} takes only = and !=", text)
        if canonical in ("key", "perm") and op != "=":
            raise fail(f"field {name} takes only =", text)
        check_field_value(canonical, value)
        return cls(name, op, value)

    @property
    def field(self) -> str:
        """The field as the kernel knows it (`loginuid` is `auid`)."""
        return FIELD_ALIASES.get(self.name, self.name)

    def text(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    def tokens(self) -> list[str]:
        return ["-F", self.text()]

    def meaning(self, machine: str = "x86_64") -> tuple[str, str, int | str]:
        """(field, op, normalised value): `auid!=-1` -> ("auid", "!=", 4294967295)."""
        value = normalize_value(self.field, self.value, machine)
        if value is None:
            raise fail(f"bad value for field {self.name} on {machine}", self.value)
        return (self.field, self.op, value)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One `-C left OP right` comparison between two fields of the event (OP = or !=)."""

    left: str
    op: str
    right: str

    @classmethod
    def from_value(cls, text: str) -> Comparison:
        found = re.fullmatch(r"([a-z_]+)(!=|=)([a-z_]+)", text)
        if found is None:
            raise fail("a comparison is FIELD = or != FIELD", text)
        left, op, right = FIELD_ALIASES.get(found[1], found[1]), found[2], found[3]
        compares = audit_rule_table().kinds["compare"]
        right = FIELD_ALIASES.get(right, right)
        if f"{left}:{right}" not in compares and f"{right}:{left}" not in compares:
            raise fail(f"cannot compare {found[1]} with {found[3]}", text)
        return cls(found[1], op, found[3])

    def text(self) -> str:
        return f"{self.left}{self.op}{self.right}"

    def tokens(self) -> list[str]:
        return ["-C", self.text()]

    def pair(self) -> str:
        """The kernel's comparison as `left:right` in its own order (`auid!=uid` -> uid:auid)."""
        left, right = (FIELD_ALIASES.get(side, side) for side in (self.left, self.right))
        forward = f"{left}:{right}"
        return forward if forward in audit_rule_table().kinds["compare"] else f"{right}:{left}"

    def meaning(self) -> tuple[str, str, int | str]:
        return ("field_compare", self.op, audit_rule_table().number("compare", self.pair()))


@dataclass(frozen=True, slots=True)
class Key:
    """One `-k key` option."""

    value: str

    @classmethod
    def from_value(cls, value: str) -> Key:
        if not value:
            raise fail("empty key")
        return cls(value)

    def tokens(self) -> list[str]:
        return ["-k", self.value]


@dataclass(frozen=True, slots=True)
class Perms:
    """A `-p PERMS` option inside a syscall rule: auditctl sets (or adds) its `perm` field."""

    value: str

    @classmethod
    def from_value(cls, value: str) -> Perms:
        if perm_value(value, "") is None:
            raise fail("permissions are letters of rwxa", value)
        return cls(value)

    def tokens(self) -> list[str]:
        return ["-p", self.value]


Part = Syscalls | Field | Comparison | Key | Perms


# ---------------------------------------------------------------- lines


@dataclass(frozen=True, slots=True)
class AuditRuleMeaning:
    """What the kernel receives for a rule (see the module docstring for the equivalences).

    `syscalls` is None for "every syscall" (exit list without `-S`, or `-S all`) and for lists
    that take no syscalls; `fields` keeps the order of the text (the kernel evaluates them in
    order, all must hold); keys are joined into one `key` field in `fields` as auditctl does.
    """

    list_name: str
    action: str
    arch: str | None
    syscalls: frozenset[int] | None
    fields: tuple[tuple[str, str, int | str], ...]

    @property
    def keys(self) -> tuple[str, ...]:
        joined = [str(v) for name, _op, v in self.fields if name == "key"]
        return tuple(joined[0].split(KEY_SEPARATOR)) if joined else ()


@dataclass(frozen=True, slots=True)
class SyscallRule:
    """`-a`/`-A`/`-d LIST,ACTION` with its `-S`, `-F`, `-C` and `-k` parts in written order."""

    list_name: str
    action: str
    parts: tuple[Part, ...] = ()
    command: str = "-a"

    @classmethod
    def from_tokens(cls, command: str, tokens: Sequence[str]) -> SyscallRule:
        if not tokens:
            raise fail(f"{command} needs LIST,ACTION")
        rule_list, action = split_list_action(tokens[0])
        parts = tuple(parse_parts(tokens[1:]))
        rule = cls(rule_list, action, parts, command)
        rule.check()
        return rule

    def check(self) -> None:
        if self.syscalls and self.list_name not in ("exit", "io_uring"):
            raise fail(f"-S is not allowed on the {self.list_name} list")
        if len([p for p in self.parts if not isinstance(p, Syscalls)]) > MAX_FIELDS:
            raise fail(f"more than {MAX_FIELDS} fields")
        if len(KEY_SEPARATOR.join(self.keys).encode()) > MAX_KEY_LEN:
            raise fail(f"keys longer than {MAX_KEY_LEN} bytes")

    def tokens(self) -> list[str]:
        out = [self.command, f"{self.action},{self.list_name}"]
        for part in self.parts:
            out += part.tokens()
        return out

    @property
    def syscalls(self) -> tuple[str, ...]:
        return tuple(name for p in self.parts if isinstance(p, Syscalls) for name in p.names)

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(p for p in self.parts if isinstance(p, Field))

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(p for p in self.parts if isinstance(p, Comparison))

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key of the rule, from `-k` and `-F key=`, in written order."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Key) or (isinstance(part, Field) and part.field == "key"):
                out.append(part.value)
        return tuple(out)

    @property
    def arch(self) -> str | None:
        """The `arch=` value as written (`b64`), or None."""
        return next((f.value for f in self.fields if f.field == "arch" and f.op == "="), None)

    def meaning(self, machine: str = "x86_64") -> AuditRuleMeaning:
        arch = arch_of(self.arch, machine) if self.arch is not None else machine
        if arch is None:
            raise fail(f"unknown arch {self.arch} on {machine}")
        fields: list[tuple[str, str, int | str]] = []
        for part in self.parts:
            if isinstance(part, Field) and part.field != "key":
                fields.append(part.meaning(machine))
            elif isinstance(part, Comparison):
                fields.append(part.meaning())
            elif isinstance(part, Perms):
                set_perm(fields, perm_bits(part.value))
        if self.keys:
            fields.append(("key", "=", KEY_SEPARATOR.join(self.keys)))
        syscalls = resolve_syscalls(self.syscalls, arch) if self.list_name == "exit" else None
        rule_arch = arch_of(self.arch, machine) if self.arch is not None else None
        return AuditRuleMeaning(self.list_name, self.action, rule_arch, syscalls, tuple(fields))


@dataclass(frozen=True, slots=True)
class Watch:
    """`-w PATH -p PERMS -k KEY` (or `-W` to remove it). `perms` is "" when `-p` is absent."""

    path: str
    perms: str = ""
    keys: tuple[str, ...] = ()
    command: str = "-w"

    @classmethod
    def from_tokens(cls, command: str, tokens: Sequence[str]) -> Watch:
        if not tokens or not tokens[0].startswith("/"):
            raise fail(f"{command} needs an absolute path", " ".join(tokens[:1]))
        perms, keys = "", []
        for option, value in pairs(tokens[1:]):
            if option == "-p" and not perms and perm_value(value, "") is not None:
                perms = value
            elif option == "-k":
                keys.append(Key.from_value(value).value)
            else:
                raise fail(f"unexpected {option} in a watch", f"{option} {value}")
        return cls(tokens[0], perms, tuple(keys), command)

    def tokens(self) -> list[str]:
        out = [self.command, self.path]
        if self.perms:
            out += ["-p", self.perms]
        for key in self.keys:
            out += ["-k", key]
        return out

    @property
    def effective_perms(self) -> str:
        return self.perms or WATCH_DEFAULT_PERMS

    def to_rule(self, is_dir: bool | None = None) -> SyscallRule:
        """The exit-list rule this watch is, as auditctl builds it: `-F dir=` for a directory
        (a trailing `/`, which auditctl trims, or `is_dir`: auditctl looks at the file system),
        else `-F path=`; then `-F perm=` (rwxa without `-p`) and the keys."""
        trailing = len(self.path) > 2 and self.path.endswith("/")
        is_dir = trailing or bool(is_dir)
        path = self.path.rstrip("/") if trailing else self.path
        parts: list[Part] = [Field("dir" if is_dir else "path", "=", path)]
        parts.append(Field("perm", "=", self.effective_perms))
        parts += [Key(key) for key in self.keys]
        return SyscallRule("exit", "always", tuple(parts), "-d" if self.command == "-W" else "-a")

    def meaning(self, machine: str = "x86_64", is_dir: bool | None = None) -> AuditRuleMeaning:
        return self.to_rule(is_dir).meaning(machine)


@dataclass(frozen=True, slots=True)
class Control:
    """A control line: `-D`, `-b 8192`, `--backlog_wait_time 60000`, `-e 1`, ..."""

    option: str
    value: str | None = None

    @classmethod
    def from_tokens(cls, option: str, tokens: Sequence[str]) -> Control:
        takes_value = CONTROLS[option]
        if len(tokens) != int(takes_value):
            wanted = "one value" if takes_value else "no value"
            raise fail(f"{option} takes {wanted}", " ".join(tokens))
        value = tokens[0] if takes_value else None
        allowed = CONTROL_VALUES.get(option)
        if value is not None and (not value.isdigit() or (allowed and value not in allowed)):
            raise fail(f"bad value for {option}", value)
        return cls(option, value)

    def tokens(self) -> list[str]:
        return [self.option] if self.value is None else [self.option, self.value]


@dataclass(frozen=True, slots=True)
class Comment:
    """A `#` line, kept verbatim (leading blanks included)."""

    text: str


@dataclass(frozen=True, slots=True)
class Blank:
    """An empty or all-blank line."""


Item = Control | SyscallRule | Watch | Comment | Blank
AuditRule = SyscallRule | Watch


@dataclass(frozen=True, slots=True)
class AuditRuleLine:
    """One line of a rule file: where it was, its text as read, what it is."""

    number: int
    text: str
    item: Item
    source: str = ""  # the file, when the lines of several files are read as one


@dataclass(frozen=True)
class AuditRuleFile:
    """The lines of an auditctl rule file, in order."""

    source: str = "-"
    lines: tuple[AuditRuleLine, ...] = field(default_factory=tuple)

    @property
    def items(self) -> list[Item]:
        return [line.item for line in self.lines]

    @property
    def rules(self) -> list[AuditRule]:
        return [i for i in self.items if isinstance(i, (SyscallRule, Watch))]

    @property
    def controls(self) -> list[Control]:
        return [i for i in self.items if isinstance(i, Control)]

    def located(self) -> Iterator[tuple[Location, Item]]:
        for line in self.lines:
            yield Location(line.source or self.source, line.number), line.item


# ---------------------------------------------------------------- helpers


def split_list_action(text: str) -> tuple[str, str]:
    """`always,exit` or `exit,always` -> ("exit", "always")."""
    words = text.split(",")
    if len(words) != 2:
        raise fail("expected LIST,ACTION", text)
    first, second = words
    if first in ACTIONS and second in LISTS:
        return second, first
    if first in LISTS and second in ACTIONS:
        return first, second
    if first in OBSOLETE_LISTS or second in OBSOLETE_LISTS:
        raise fail("the entry list is obsolete", text)
    raise fail(f"unknown list or action (lists: {', '.join(LISTS)})", text)


def set_perm(fields: list[tuple[str, str, int | str]], bits: int) -> None:
    """What auditctl's `-p` does to a rule: update its perm field, or add one."""
    for index, (name, _op, _value) in enumerate(fields):
        if name == "perm":
            fields[index] = ("perm", "=", bits)
            return
    fields.append(("perm", "=", bits))


def pairs(tokens: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(option, value) pairs; an option without a value is an error."""
    if len(tokens) % 2:
        raise fail(f"option {tokens[-1]} needs a value", tokens[-1])
    for index in range(0, len(tokens), 2):
        yield tokens[index], tokens[index + 1]


def parse_parts(tokens: Sequence[str]) -> Iterator[Part]:
    for option, value in pairs(tokens):
        parser = PART_PARSERS.get(option)
        if parser is None:
            raise fail(f"unexpected {option} in a syscall rule", f"{option} {value}")
        yield parser(value)


def resolve_syscalls(names: Sequence[str], arch: str) -> frozenset[int] | None:
    """Syscall numbers for `arch`; None means every syscall (`-S all` or no `-S`)."""
    if not names or ALL_SYSCALLS in names:
        return None
    numbers = set()
    for name in names:
        number = int(name) if name.isdigit() else tables.syscall_number(arch, name)
        if number is None:
            raise fail(f"unknown syscall {name} on {arch}", name)
        numbers.add(number)
    return frozenset(numbers)


PART_PARSERS: dict[str, Callable[[str], Part]] = {
    "-S": Syscalls.from_value,
    "-F": Field.from_value,
    "-C": Comparison.from_value,
    "-k": Key.from_value,
    "-p": Perms.from_value,
}
