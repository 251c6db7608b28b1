"""Regenerate mappings/syscalls/<arch>.tsv and mappings/arches.tsv from Debian sources.

    python scripts/gen_syscall_tables.py

Sources (Debian bookworm):
- `ausyscall <arch> --dump` (package auditd) for every arch auditd knows. ausyscall falls back
  to x86_64 silently for an arch it does not know: the "Using <table> syscall table" line it
  prints is checked against the expected table and a fallback is refused.
- riscv64, which auditd 3.0.9 does not know: the kernel UAPI headers of
  linux-libc-dev-riscv64-cross (`asm/unistd.h`, which includes `asm-generic/unistd.h`),
  expanded by the C preprocessor for a 64-bit target.
- arches.tsv: the AUDIT_ARCH_* constants of `linux/audit.h` (linux-libc-dev), expanded by the C
  preprocessor (EM_* from `linux/elf-em.h`); the name audit prints for each one, asked of the
  installed libaudit (`audit_elf_to_machine` + `audit_machine_to_name`, what ENRICHED logs and
  `ausearch -i` print); the syscall table is the generated table whose content equals
  `ausyscall <name> --dump`.

Never run in tests or at run time: it needs the Debian tools above and writes into mappings/.
"""

from __future__ import annotations

import ast
import ctypes
import datetime
import operator
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "mappings"
SYSCALLS = MAPPINGS / "syscalls"

# table name -> (ausyscall argument, table ausyscall must announce)
AUSYSCALL_ARCHES: dict[str, tuple[str, str]] = {
    "x86_64": ("x86_64", "x86_64"),
    "i386": ("i386", "i386"),
    "aarch64": ("aarch64", "aarch64"),
    "arm": ("arm", "armeb"),  # audit has one ARM table and calls it armeb
    "ppc64le": ("ppc64le", "ppc64le"),
    "s390x": ("s390x", "s390x"),
}
RISCV64_INCLUDE = Path("/usr/riscv64-linux-gnu/include")
RISCV64_PACKAGE = "linux-libc-dev-riscv64-cross"
RISCV64_DEFINES = ("-D__riscv", "-D__riscv_xlen=64", "-D__LP64__", "-D__SIZEOF_POINTER__=8")
NOT_SYSCALLS = frozenset(("syscalls", "arch_specific_syscall"))
# Arches libaudit 3.0.9 cannot name (it prints "unknown-elf-type(<hex>)"); the names are the
# kernel's machine names (uname -m), which later audit releases print.
ARCH_NAME_SUPPLEMENT = {"AUDIT_ARCH_RISCV64": "riscv64", "AUDIT_ARCH_RISCV32": "riscv32"}
USING_RE = re.compile(r"Using (\S+) syscall table:")
ENTRY_RE = re.compile(r"(\d+)\t([a-z0-9_]+)")
PROBE_RE = re.compile(r'"(\w+)" (.+)')
C_SUFFIX_RE = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b")

_BINOPS: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.BitOr: operator.or_,
    ast.LShift: operator.lshift,
}


class GenerationError(Exception):
    """A source did not say what it must; nothing is written."""


def run(argv: Sequence[str], stdin: str = "") -> str:
    """Run a tool and return its stdout; a failure stops the generation."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GenerationError(f"{shlex.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def package_version(package: str) -> str:
    """`package version` as dpkg knows it."""
    out = run(["dpkg-query", "-W", "-f=${Package} ${Version}", package])
    return out.strip()


def write_table(path: Path, header: Iterable[str], rows: Iterable[Sequence[object]]) -> None:
    """A TSV table: `#` comment lines naming the source, then one tab-separated row per line."""
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    lines = [f"# {line}".rstrip() for line in header]
    lines += [f"# generated: {today} by scripts/{Path(sys.argv[0]).name}"]
    for row in rows:
        cells = [str(cell) for cell in row]
        if any("\t" in cell or "\n" in cell for cell in cells):
            raise GenerationError(f"{path.name}: a cell holds a tab or newline: {cells}")
        lines.append("\t".join(cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def eval_c_int(text: str) -> int:
    """Value of a preprocessed C integer expression made of literals, + - | << and parentheses."""
    tree = ast.parse(C_SUFFIX_RE.sub(r"\1", text.strip()), mode="eval")
    return _eval_node(tree.body, text)


def _eval_node(node: ast.expr, text: str) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        op = _BINOPS[type(node.op)]
        return op(_eval_node(node.left, text), _eval_node(node.right, text))
    raise GenerationError(f"not an integer expression: {text!r}")


def expand_macros(cpp_args: Sequence[str], include: str, pattern: str) -> dict[str, int]:
    """Every macro matching `pattern` that `include` defines, with its integer value."""
    source = f"#include <{include}>\n"
    defined = run([*cpp_args, "-dM", "-"], source)
    names = sorted(set(re.findall(rf"^#define ({pattern})\b", defined, re.MULTILINE)))
    if not names:
        raise GenerationError(f"{include} defines no macro matching {pattern}")
    # A string literal is never macro-expanded: '"NAME" value' lines name each expansion.
    probe = source + "".join(f'"{name}" {name}\n' for name in names)
    values = {}
    for line in run([*cpp_args, "-P", "-"], probe).splitlines():
        if match := PROBE_RE.fullmatch(line.strip()):
            values[match[1]] = eval_c_int(match[2])
    if sorted(values) != names:
        raise GenerationError(f"{include}: could not expand {sorted(set(names) - set(values))}")
    return values


def ausyscall_dump(arg: str) -> tuple[str, list[tuple[int, str]]]:
    """The table ausyscall announces and its (number, name) entries."""
    out = run(["ausyscall", arg, "--dump"]).splitlines()
    used = USING_RE.fullmatch(out[0].strip()) if out else None
    if used is None:
        raise GenerationError(f"ausyscall {arg} --dump: no 'Using ... syscall table' line")
    entries = []
    for line in out[1:]:
        match = ENTRY_RE.fullmatch(line.strip())
        if match is None:
            raise GenerationError(f"ausyscall {arg} --dump: unexpected line {line!r}")
        entries.append((int(match[1]), match[2]))
    return used[1], entries


def table_from_ausyscall(table: str) -> tuple[list[str], list[tuple[int, str]]]:
    arg, expected = AUSYSCALL_ARCHES[table]
    used, entries = ausyscall_dump(arg)
    if used != expected:
        raise GenerationError(f"ausyscall {arg}: used the {used} table, expected {expected}")
    header = [
        f"syscall table {table}: number -> name",
        f"source: ausyscall {arg} --dump (prints: Using {used} syscall table)",
        f"package: {package_version('auditd')}",
    ]
    if used != table:
        header.append(f"note: audit calls this table, and arch 40000028 (ARM, LE), {used}")
    return header, entries


def table_from_riscv64_headers() -> tuple[list[str], list[tuple[int, str]]]:
    if not (RISCV64_INCLUDE / "asm" / "unistd.h").is_file():
        raise GenerationError(f"missing riscv64 headers: apt-get install {RISCV64_PACKAGE}")
    cpp = ["cpp", "-undef", "-nostdinc", f"-I{RISCV64_INCLUDE}", *RISCV64_DEFINES]
    values = expand_macros(cpp, "asm/unistd.h", r"__NR_\w+")
    entries = sorted(
        (number, name.removeprefix("__NR_"))
        for name, number in values.items()
        if name.removeprefix("__NR_") not in NOT_SYSCALLS
    )
    header = [
        "syscall table riscv64: number -> name",
        "source: __NR_* of asm/unistd.h (includes asm-generic/unistd.h), 64-bit",
        f"command: {shlex.join(cpp)} -dM, then each macro expanded by the same cpp",
        f"package: {package_version(RISCV64_PACKAGE)}",
        "note: auditd 3.0.9's ausyscall has no riscv64 table (it falls back to x86_64)",
    ]
    return header, entries


def check_entries(table: str, entries: list[tuple[int, str]]) -> None:
    numbers = [number for number, _ in entries]
    names = [name for _, name in entries]
    if not entries or len(set(numbers)) != len(numbers) or len(set(names)) != len(names):
        raise GenerationError(f"{table}: empty table or a repeated number or name")


def generate_syscalls() -> dict[str, list[tuple[int, str]]]:
    tables = {}
    for table in (*AUSYSCALL_ARCHES, "riscv64"):
        if table == "riscv64":
            header, entries = table_from_riscv64_headers()
        else:
            header, entries = table_from_ausyscall(table)
        check_entries(table, entries)
        header.append("columns: number, name")
        write_table(SYSCALLS / f"{table}.tsv", header, sorted(entries))
        tables[table] = sorted(entries)
    return tables


def libaudit_arch_name(audit_arch: int) -> str | None:
    """The name libaudit prints for an audit arch value, or None when it has none."""
    lib = ctypes.CDLL("libaudit.so.1")
    lib.audit_machine_to_name.restype = ctypes.c_char_p
    machine = lib.audit_elf_to_machine(ctypes.c_uint(audit_arch))
    if machine < 0:
        return None
    name = lib.audit_machine_to_name(machine)
    return name.decode() if name else None


def table_for(name: str, tables: dict[str, list[tuple[int, str]]]) -> str:
    """The generated table whose content is what ausyscall uses for `name`, or `-`."""
    if name in tables:
        return name
    used, entries = ausyscall_dump(name)
    if used != name:  # ausyscall fell back: it has no table of its own for this name
        return "-"
    return next((table for table, rows in tables.items() if rows == sorted(entries)), "-")


def generate_arches(tables: dict[str, list[tuple[int, str]]]) -> None:
    consts = expand_macros(["cpp"], "linux/audit.h", r"AUDIT_ARCH_\w+")
    rows = []
    for macro, value in sorted(consts.items(), key=lambda item: item[1]):
        name = libaudit_arch_name(value)
        source = f"libaudit {package_version('libaudit1').split()[1]}"
        if name is None and macro in ARCH_NAME_SUPPLEMENT:
            name, source = ARCH_NAME_SUPPLEMENT[macro], "kernel machine name (uname -m)"
        if name is not None:
            rows.append((f"{value:x}", macro, name, table_for(name, tables), source))
    header = [
        "audit arch (the hex of arch= in SYSCALL records) -> name audit prints, syscall table",
        "values: AUDIT_ARCH_* of linux/audit.h (EM_* of linux/elf-em.h),"
        f" {package_version('linux-libc-dev')}",
        "names: audit_machine_to_name(audit_elf_to_machine(value)) of libaudit, as ENRICHED"
        " logs and ausearch -i print them; arches libaudit cannot name are left out,"
        f" except {', '.join(ARCH_NAME_SUPPLEMENT.values())} (named as the kernel names them)",
        "syscall_table: the table in syscalls/ equal to what ausyscall <name> --dump uses,"
        " - if none",
        "columns: audit_arch, macro, name, syscall_table, name_source",
    ]
    write_table(MAPPINGS / "arches.tsv", header, rows)


def main() -> int:
    try:
        generate_arches(generate_syscalls())
    except GenerationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
