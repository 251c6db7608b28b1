"""Regenerate mappings/errno.tsv, record_types.tsv and fields.tsv.

    python scripts/gen_audit_tables.py [--specs DIR]

Sources:
- errno.tsv: `#define E<NAME> <number> /* text */` of asm-generic/errno-base.h and errno.h
  (Debian's linux-libc-dev): Linux's generic errno numbers (x86, arm, arm64, riscv, s390, ppc).
- record_types.tsv: the audit project's message dictionary (specs/messages/message-dictionary.csv
  of linux-audit/audit-documentation, CC BY 4.0, see mappings/LICENSE-audit-documentation),
  each name checked against the name the installed libaudit prints (`audit_msg_type_to_name`).
- fields.tsv: the audit project's field dictionary (specs/fields/field-dictionary.csv), with the
  EXCEPTION column translated to the record type it names, and two documented supplements.

Never run in tests or at run time.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from gen_syscall_tables import MAPPINGS, ROOT, GenerationError, package_version, write_table

SPECS = ROOT.parent / "shared" / "audit-specs" / "linux-audit__audit-documentation" / "specs"
ERRNO_HEADERS = (
    Path("/usr/include/asm-generic/errno-base.h"),
    Path("/usr/include/asm-generic/errno.h"),
)
ERRNO_RE = re.compile(r"#define\s+(E[A-Z0-9]+)\s+(\d+)\s*/\*\s*(.*?)\s*\*/")
ERRNO_ALIAS_RE = re.compile(r"#define\s+(E[A-Z0-9]+)\s+(E[A-Z0-9]+)\b")

# Record types whose log name is not the macro without its AUDIT_ prefix (checked with libaudit).
LOG_NAMES = {"AUDIT_AA": "APPARMOR"}
# Record types libaudit names that the dictionary lacks: (origin, class) by number range.
EXTRA_CLASSES = {range(2100, 2300): ("USER", "IND")}
LIBAUDIT_SCAN = range(1000, 3000)

# The field dictionary's EXCEPTION column -> the record type a row is restricted to (* = any).
# Two rows carry part of their meaning in that column instead of an exception.
EXCEPTIONS = {
    "": "*",
    "syscall": "SYSCALL",
    "execve": "EXECVE",
    "avc": "AVC",
    "crypto_key": "CRYPTO_KEY_USER",
    "audit_enabled audit_backlog audit_failure value": "CONFIG_CHANGE",
    "major and minor for device": "*",
    "the user ID of the account": "*",
}
# Rows that repeat a field name without an exception: the record type the meaning points to.
MEANING_RECORD_TYPES = {("val", "new value of SELinux boolean"): "MAC_CONFIG_CHANGE"}
# Dictionary names that are patterns -> the rows they stand for (<N>, <i>: decimal digits).
NAME_PATTERNS = {
    "a[0-3]": ("a0", "a1", "a2", "a3"),
    r"a[[:digit:]+]\[.*\]": ("a<N>[<i>]",),
}
# Not in the dictionary; the kernel writes them (audit_log_execve_info in kernel/auditsc.c).
FIELD_SUPPLEMENTS = (
    ("a<N>", "encoded", "EXECVE", "-", "an execve argument written whole, not in chunks"),
    ("a<N>_len", "numeric decimal", "EXECVE", "-", "length of an argument written in chunks"),
)
FIELD_NAME_RE = re.compile(r"[a-z0-9_-]+|a<N>(?:\[<i>\]|_len)?")


def errno_rows() -> tuple[list[tuple[int, str, str]], list[str]]:
    rows: list[tuple[int, str, str]] = []
    aliases = []
    for header in ERRNO_HEADERS:
        text = header.read_text(encoding="utf-8")
        rows += [(int(num), name, desc) for name, num, desc in ERRNO_RE.findall(text)]
        aliases += [f"{alias}={name}" for alias, name in ERRNO_ALIAS_RE.findall(text)]
    if len({num for num, _, _ in rows}) != len(rows) or len(rows) < 100:
        raise GenerationError("errno headers: a repeated number, or fewer than 100 errnos")
    return sorted(rows), aliases


def generate_errno() -> None:
    rows, aliases = errno_rows()
    header = [
        "errno number -> name, text (Linux generic: x86, arm, aarch64, riscv, s390, powerpc)",
        f"source: {', '.join(str(path) for path in ERRNO_HEADERS)}",
        f"package: {package_version('linux-libc-dev')}",
        f"aliases left out (same number): {', '.join(aliases)}",
        "columns: number, name, text",
    ]
    write_table(MAPPINGS / "errno.tsv", header, rows)


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


class LibAudit:
    """The installed libaudit's own record type names."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libaudit.so.1")
        self.lib.audit_msg_type_to_name.restype = ctypes.c_char_p
        self.version = package_version("libaudit1")

    def type_name(self, number: int) -> str | None:
        name = self.lib.audit_msg_type_to_name(number)
        return name.decode() if name else None


def extra_class(number: int) -> tuple[str, str]:
    for numbers, origin_class in EXTRA_CLASSES.items():
        if number in numbers:
            return origin_class
    raise GenerationError(f"libaudit names record type {number}: add its class to EXTRA_CLASSES")


TypeRow = tuple[int, str, str, str, str, str]


def dictionary_record_types(specs: Path, lib: LibAudit) -> tuple[list[TypeRow], list[int]]:
    """The dictionary's record types, each log name checked with libaudit; the unnamed ones."""
    rows: list[TypeRow] = []
    unnamed = []
    for row in read_csv(specs / "messages" / "message-dictionary.csv"):
        number, macro = int(row["VALUE"]), row["MACRO NAME"]
        name = LOG_NAMES.get(macro, macro.removeprefix("AUDIT_"))
        printed = lib.type_name(number)
        if printed is None:
            unnamed.append(number)
        elif printed != name:
            raise GenerationError(f"{macro}={number}: libaudit prints {printed}, not {name}")
        rows.append((number, name, row["CLASS"], row["ORIGIN"], macro, "dictionary"))
    return rows, unnamed


def libaudit_extras(known: set[int], lib: LibAudit) -> list[TypeRow]:
    """Record types libaudit names that the dictionary lacks."""
    rows: list[TypeRow] = []
    for number in LIBAUDIT_SCAN:
        printed = lib.type_name(number)
        if printed is not None and number not in known:
            origin, klass = extra_class(number)
            rows.append((number, printed, klass, origin, "-", f"libaudit {lib.version.split()[1]}"))
    return rows


def generate_record_types(specs: Path) -> None:
    lib = LibAudit()
    rows, unnamed = dictionary_record_types(specs, lib)
    rows = sorted(rows + libaudit_extras({row[0] for row in rows}, lib))
    header = [
        "audit record type number -> name as logs print it (type=SYSCALL), class, origin",
        "source: specs/messages/message-dictionary.csv of linux-audit/audit-documentation"
        f" ({_specs_commit(specs)}), CC BY 4.0: see LICENSE-audit-documentation",
        f"names checked against audit_msg_type_to_name of {lib.version}",
        "log names that differ from the macro: "
        + ", ".join(f"{macro}={name}" for macro, name in LOG_NAMES.items()),
        "types libaudit does not name (auditd prints type=UNKNOWN[n]): "
        + ", ".join(map(str, unnamed)),
        "columns: number, name, class, origin, macro, source",
    ]
    write_table(MAPPINGS / "record_types.tsv", header, rows)


def field_rows(specs: Path) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for row in read_csv(specs / "fields" / "field-dictionary.csv"):
        name, fmt, meaning, exception = (row[key].strip() for key in row)
        if exception not in EXCEPTIONS:
            raise GenerationError(f"field {name}: unknown exception {exception!r}")
        record_type = MEANING_RECORD_TYPES.get((name, meaning), EXCEPTIONS[exception])
        for field in NAME_PATTERNS.get(name, (name,)):
            if FIELD_NAME_RE.fullmatch(field) is None:
                raise GenerationError(f"field {name}: a pattern not in NAME_PATTERNS")
            rows.append((field, fmt, record_type, exception or "-", meaning or "-", "dictionary"))
    rows += [(*supplement, "supplement") for supplement in FIELD_SUPPLEMENTS]
    keys = [(field, record_type) for field, _, record_type, *_ in rows]
    if len(set(keys)) != len(keys):
        raise GenerationError("fields: a (field, record_type) pair is repeated")
    return rows


def generate_fields(specs: Path) -> None:
    header = [
        "audit field -> format (encoded = a quoted string, or bare hex when it holds special"
        " characters), the record type a row applies to (* = any), meaning",
        "source: specs/fields/field-dictionary.csv of linux-audit/audit-documentation"
        f" ({_specs_commit(specs)}), CC BY 4.0: see LICENSE-audit-documentation",
        "patterns: <N> and <i> stand for decimal digits (a<N>[<i>] is a chunked execve argument)",
        "record_type: the dictionary's exception column, translated (see mappings/README.md)",
        "supplement rows are not in the dictionary (see mappings/README.md)",
        "columns: field, format, record_type, exception, meaning, source",
    ]
    write_table(MAPPINGS / "fields.tsv", header, field_rows(specs))


def _specs_commit(specs: Path) -> str:
    source = (specs.parent / "SOURCE.txt").read_text(encoding="utf-8")
    match = re.search(r"^commit:\s*(\w+)", source, re.MULTILINE)
    return f"commit {match[1]}" if match else "commit unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=Path, default=SPECS, help="audit-documentation specs/")
    args = parser.parse_args()
    try:
        generate_errno()
        generate_record_types(args.specs)
        generate_fields(args.specs)
    except GenerationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
