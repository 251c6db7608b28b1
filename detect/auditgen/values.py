"""Values of `-F` filters as auditctl sends them to the kernel, and the kernel's rule numbers.

`normalize_value(field, text, machine)` is what `-F field=text` means: C `strtol` numbers, the
unset id in any spelling, errno names for `exit`, arch names and `b64`/`b32` for `arch`, record
type names for `msgtype`, `rwxa` letters for `perm`, file type names for `filetype`. User and
group names stay text (auditctl looks them up on the machine that loads the rules). The numbers
of `mappings/audit_rules.tsv` are loaded once, on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from detect.core.errors import DetectError, Location
from detect.core.resources import mapping_path
from detect.kernel import tables

PERM_LETTERS = "rwxa"
UNSET_ID = 4294967295  # (u32)-1: auid and session ids never set
UNSET_NAMES = ("unset", "-1", "4294967295")
STRING_FIELDS = frozenset(
    [
        "path",
        "dir",
        "exe",
        "key",
        "subj_user",
        "subj_role",
        "subj_type",
        "subj_sen",
        "subj_clr",
        "obj_user",
        "obj_role",
        "obj_type",
        "obj_lev_low",
        "obj_lev_high",
    ]
)
UID_FIELDS = frozenset(["uid", "euid", "suid", "fsuid", "auid", "loginuid", "obj_uid"])
GID_FIELDS = frozenset(["gid", "egid", "sgid", "fsgid", "obj_gid"])
EQUALITY_ONLY = frozenset(("arch", "perm", "filetype", "key", "exe", "path", "dir"))
FIELD_ALIASES = {"loginuid": "auid"}
FILETYPES = {
    "file": 0o100000,
    "dir": 0o040000,
    "socket": 0o140000,
    "link": 0o120000,
    "symlink": 0o120000,
    "character": 0o020000,
    "block": 0o060000,
    "fifo": 0o010000,
}
FSTYPES = {"debugfs": 0x64626720, "tracefs": 0x74726163}
# The arch of `b64` / `b32` on each 64-bit machine (what auditctl uses on that machine).
BITS_ARCH = {
    "x86_64": {"b64": "x86_64", "b32": "i386"},
    "aarch64": {"b64": "aarch64", "b32": "arm"},
    "ppc64le": {"b64": "ppc64le"},
    "s390x": {"b64": "s390x"},
    "riscv64": {"b64": "riscv64"},
}
ARCH_ALIASES = {"i686": "i386", "i586": "i386", "i486": "i386", "armv7l": "arm", "arm64": "aarch64"}
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
SYSCALL_TOKEN_RE = re.compile(r"[a-z0-9_]+")


@dataclass(eq=True, unsafe_hash=True)
class AuditRuleError(DetectError):
    """A rule line auditctl would refuse; compares by value so tests can assert it. Not frozen:
    Python sets `__traceback__` on an exception as it passes through a `with` block."""

    reason: str
    location: Location = field(default_factory=Location)
    excerpt: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.reason}"
        return f"{text}: {self.excerpt!r}" if self.excerpt else text


@dataclass(frozen=True, slots=True)
class AuditRuleTable:
    """Kernel numbers by auditctl name, one dict per kind (`field`, `op`, `list`, ...)."""

    kinds: dict[str, dict[str, int]]

    def number(self, kind: str, name: str) -> int:
        return self.kinds[kind][name]


@cache
def audit_rule_table() -> AuditRuleTable:
    """`mappings/audit_rules.tsv`, loaded and validated once."""
    path = mapping_path("audit_rules.tsv")
    kinds: dict[str, dict[str, int]] = {}
    for where, (kind, name, _macro, number) in tables.read_rows(path, 4):
        if not number.isdigit():
            raise tables.TableError(f"not a number: {number!r}", where)
        names = kinds.setdefault(kind, {})
        if name in names:
            raise tables.TableError(f"{kind} {name} repeated", where)
        names[name] = int(number)
    return AuditRuleTable(kinds)


def fail(reason: str, excerpt: str = "") -> AuditRuleError:
    """An AuditRuleError without a place yet: the parser adds the file and line."""
    return AuditRuleError(reason, Location(), excerpt)


# ---------------------------------------------------------------- values


def strtol(text: str) -> int | None:
    """C `strtol(text, NULL, 0)` on a whole token: `0x1f`, `017`, `-13`; None if not a number."""
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text)
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", digits):
            return sign * int(digits, 16)
        if re.fullmatch(r"0[0-7]*", digits):
            return sign * int(digits, 8)
        if re.fullmatch(r"[1-9][0-9]*", digits):
            return sign * int(digits, 10)
    except ValueError:
        return None
    return None


def arch_of(value: str, machine: str) -> str | None:
    """The arch an `arch=` value names on `machine`: `b64` -> `x86_64`, `i686` -> `i386`."""
    bits = BITS_ARCH.get(machine, {})
    if value in bits:
        return bits[value]
    name = ARCH_ALIASES.get(value, value)
    return name if tables.arch_table(name) is not None else None


@cache
def _arch_numbers() -> dict[str, int]:
    arches = tables.parse_arch_table(mapping_path("arches.tsv"))
    return {name: number for number, name in arches.names.items()}


@cache
def _errno_numbers() -> dict[str, int]:
    return tables.parse_errno_table(mapping_path("errno.tsv")).numbers


def audit_arch_number(arch: str) -> int | None:
    """The AUDIT_ARCH_* value of an arch name (`x86_64` -> 0xc000003e)."""
    return _arch_numbers().get(arch)


def perm_bits(value: str) -> int:
    table = audit_rule_table().kinds["perm"]
    return sum(table[letter] for letter in set(value))


def id_value(value: str) -> int | str:
    """A uid/gid value: the unset id in any spelling, a number, or a user/group name as text."""
    if value in UNSET_NAMES:
        return UNSET_ID
    number = strtol(value)
    return value if number is None else number & 0xFFFFFFFF


def exit_value(value: str) -> int | None:
    number = strtol(value)
    if number is not None:
        return number
    negative = value.startswith("-")
    errno = _errno_numbers().get(value.lstrip("-"))
    return None if errno is None else (-errno if negative else errno)


def check_field_value(name: str, value: str) -> None:
    """Raise AuditRuleError when auditctl would refuse `value` for field `name`."""
    if normalize_value(name, value, "x86_64") is None:
        raise fail(f"bad value for field {name}", value)


def normalize_value(name: str, value: str, machine: str) -> int | str | None:
    """What auditctl sends for `-F name=value` (None when it would refuse the value)."""
    if name in STRING_FIELDS:
        return value if value else None
    if name in UID_FIELDS or name in GID_FIELDS:
        return id_value(value) if NAME_RE.fullmatch(value) or strtol(value) is not None else None
    normalizer = NORMALIZERS.get(name)
    if normalizer is not None:
        return normalizer(value, machine)
    number = strtol(value)
    return None if number is None else number


def _arch_value(value: str, machine: str) -> int | str | None:
    return arch_of(value, machine)


def _msgtype_value(value: str, _machine: str) -> int | str | None:
    number = strtol(value)
    return number if number is not None else tables.record_type_number(value)


def perm_value(value: str, _machine: str) -> int | str | None:
    ok = value and all(letter in PERM_LETTERS for letter in value)
    return perm_bits(value) if ok else None


def _exit_value(value: str, _machine: str) -> int | str | None:
    return exit_value(value)


def _filetype_value(value: str, _machine: str) -> int | str | None:
    return FILETYPES.get(value)


def _fstype_value(value: str, _machine: str) -> int | str | None:
    return FSTYPES.get(value, strtol(value))


def _success_value(value: str, _machine: str) -> int | str | None:
    number = strtol(value)
    return None if number is None else int(number != 0)


def _arg_value(value: str, _machine: str) -> int | str | None:
    number = strtol(value)
    return None if number is None else number & 0xFFFFFFFFFFFFFFFF


NORMALIZERS: dict[str, Callable[[str, str], int | str | None]] = {
    "arch": _arch_value,
    "msgtype": _msgtype_value,
    "perm": perm_value,
    "exit": _exit_value,
    "filetype": _filetype_value,
    "fstype": _fstype_value,
    "success": _success_value,
    "a0": _arg_value,
    "a1": _arg_value,
    "a2": _arg_value,
    "a3": _arg_value,
}
