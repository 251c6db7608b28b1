"""Regenerate mappings/syscalls/<arch>.tsv and mappings/arches.tsv from Debian sources.

    python scripts/gen_syscall_tables.py --uapi-deb linux-libc-dev_<version>_all.deb

Sources (Debian bookworm, plus one newer linux-libc-dev .deb):
- `ausyscall <arch> --dump` (package auditd) for every arch auditd knows. ausyscall falls back
  to x86_64 silently for an arch it does not know: the "Using <table> syscall table" line it
  prints is checked against the expected table and a fallback is refused.
- riscv64, which auditd 3.0.9 does not know: the kernel UAPI headers of
  linux-libc-dev-riscv64-cross (`asm/unistd.h`, which includes `asm-generic/unistd.h`),
  expanded by the C preprocessor for a 64-bit target.
- the supplement, for syscalls newer than those (auditd 3.0.9 and Linux 6.1 stop at 450): the
  generated `asm/unistd_*.h` of every arch in a newer linux-libc-dev (architecture `all`, it
  ships the UAPI headers of every arch under usr/lib/linux/uapi/), given as a .deb that is
  unpacked into a temporary directory. Rows whose number and name the table above both lacks are
  added; where both name a number, the name above is kept (audit's names are what auditctl and
  ausearch use) and the header counts the differences. Get the .deb without touching the
  system's apt sources, e.g. for trixie-backports:

      echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]
          http://deb.debian.org/debian trixie-backports main' > /tmp/apt/sources.list  # one line
      O="-o Dir::Etc::sourcelist=/tmp/apt/sources.list -o Dir::Etc::sourceparts=-
         -o Dir::State::Lists=/tmp/apt/lists -o Dir::Cache=/tmp/apt/cache"
      apt-get $O update && apt-get $O download linux-libc-dev/trixie-backports
- arches.tsv: the AUDIT_ARCH_* constants of `linux/audit.h` (linux-libc-dev), expanded by the C
  preprocessor (EM_* from `linux/elf-em.h`); the name audit prints for each one, asked of the
  installed libaudit (`audit_elf_to_machine` + `audit_machine_to_name`, what ENRICHED logs and
  `ausearch -i` print); the syscall table is the generated table whose content equals
  `ausyscall <name> --dump`.

Never run in tests or at run time: it needs the Debian tools above and writes into mappings/.
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import datetime
import hashlib
import operator
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
NOT_SYSCALLS = frozenset(("syscalls", "arch_specific_syscall", "SYSCALL_BASE"))
# table -> (kernel arch directory under UAPI_DIR, header, cpp defines): the supplement's source
UAPI_DIR = Path("usr/lib/linux/uapi")
UAPI_HEADERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "x86_64": ("x86", "asm/unistd_64.h", ()),
    "i386": ("x86", "asm/unistd_32.h", ()),
    "aarch64": ("arm64", "asm/unistd_64.h", ()),
    "arm": ("arm", "asm/unistd-eabi.h", ("-D__NR_SYSCALL_BASE=0",)),  # EABI, as asm/unistd.h
    "ppc64le": ("powerpc", "asm/unistd_64.h", ()),
    "s390x": ("s390", "asm/unistd_64.h", ()),
    "riscv64": ("riscv", "asm/unistd_64.h", ()),
}
SHOWN_DIFFERENCES = 8  # differing names listed in a header line
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


Entries = list[tuple[int, str]]


class GenerationError(Exception):
    """A source did not say what it must; nothing is written."""


@dataclass(frozen=True)
class Uapi:
    """The newer linux-libc-dev, unpacked: where, and what it is."""

    root: Path  # the unpacked package's root directory
    package: str  # `linux-libc-dev 7.3.4-1~bpo13+1`
    deb: str  # the .deb's file name
    sha256: str

    def describe(self) -> str:
        return f"{self.package} ({self.deb}, sha256 {self.sha256})"


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


def syscall_macros(cpp: Sequence[str], include: str) -> Entries:
    """The (number, name) of every `__NR_<name>` macro `include` defines."""
    values = expand_macros(cpp, include, r"__NR_\w+")
    return sorted(
        (number, name.removeprefix("__NR_"))
        for name, number in values.items()
        if name.removeprefix("__NR_") not in NOT_SYSCALLS
    )


def table_from_riscv64_headers() -> tuple[list[str], list[tuple[int, str]]]:
    if not (RISCV64_INCLUDE / "asm" / "unistd.h").is_file():
        raise GenerationError(f"missing riscv64 headers: apt-get install {RISCV64_PACKAGE}")
    cpp = ["cpp", "-undef", "-nostdinc", f"-I{RISCV64_INCLUDE}", *RISCV64_DEFINES]
    entries = syscall_macros(cpp, "asm/unistd.h")
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


def unpack_uapi(deb: Path, into: Path) -> Uapi:
    """Unpack the newer linux-libc-dev .deb; refuse anything else."""
    package = run(["dpkg-deb", "-f", str(deb), "Package", "Version"])
    fields = dict(line.split(": ", 1) for line in package.splitlines() if ": " in line)
    if fields.get("Package") != "linux-libc-dev":
        raise GenerationError(f"{deb}: not a linux-libc-dev package")
    run(["dpkg-deb", "-x", str(deb), str(into)])
    if not (into / UAPI_DIR).is_dir():
        raise GenerationError(f"{deb}: no {UAPI_DIR} (a linux-libc-dev before 6.5?)")
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    return Uapi(into, f"linux-libc-dev {fields['Version']}", deb.name, digest)


def uapi_cpp(uapi: Uapi, table: str) -> tuple[list[str], str]:
    """The cpp command for a table's supplement, and that command as the header shows it."""
    directory, _include, defines = UAPI_HEADERS[table]
    include = UAPI_DIR / directory
    cpp = ["cpp", "-undef", "-nostdinc", f"-I{uapi.root / include}", *defines]
    return cpp, shlex.join(["cpp", "-undef", "-nostdinc", f"-I<deb>/{include}", *defines])


def supplement(base: Entries, extra: Entries) -> tuple[Entries, list[str]]:
    """The rows of `extra` whose number and name `base` both lacks, and where they differ."""
    names = dict(base)
    known = set(names.values())
    added = [(n, name) for n, name in extra if n not in names and name not in known]
    differ = [f"{n} {names[n]}/{name}" for n, name in extra if names.get(n, name) != name]
    return added, differ


def supplement_header(uapi: Uapi, table: str, added: Entries, differ: list[str]) -> list[str]:
    _directory, include, _defines = UAPI_HEADERS[table]
    shown = ", ".join(differ[:SHOWN_DIFFERENCES]) + (", ..." if differ[SHOWN_DIFFERENCES:] else "")
    first = ", ".join(f"{n} {name}" for n, name in added[:3])
    return [
        f"supplement: __NR_* of {include}, kernel UAPI headers of {uapi.package}",
        f"supplement command: {uapi_cpp(uapi, table)[1]} -dM, then each macro expanded",
        f"supplement package: {uapi.describe()}",
        f"supplement rows: {len(added)}, whose number and name the source above both lacks"
        + (f" ({first}, ...)" if added else ""),
        f"supplement names differing at a number both hold (kept/kernel's): {len(differ)}"
        + (f" ({shown})" if differ else ""),
    ]


def base_table(table: str) -> tuple[list[str], Entries]:
    if table == "riscv64":
        return table_from_riscv64_headers()
    return table_from_ausyscall(table)


def generate_syscalls(uapi: Uapi) -> dict[str, Entries]:
    """Write every syscall table; the base entries of each (what ausyscall or cpp gave)."""
    bases = {}
    for table in (*AUSYSCALL_ARCHES, "riscv64"):
        header, base = base_table(table)
        check_entries(table, base)
        extra = syscall_macros(uapi_cpp(uapi, table)[0], UAPI_HEADERS[table][1])
        added, differ = supplement(base, extra)
        entries = sorted(base + added)
        check_entries(table, entries)
        header += [*supplement_header(uapi, table, added, differ), "columns: number, name"]
        write_table(SYSCALLS / f"{table}.tsv", header, entries)
        bases[table] = sorted(base)
    return bases


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
    """The generated table whose base is what ausyscall uses for `name`, or `-`."""
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
        "syscall_table: the table in syscalls/ made from what ausyscall <name> --dump uses"
        " (plus the newer kernel's syscalls), - if none",
        "columns: audit_arch, macro, name, syscall_table, name_source",
    ]
    write_table(MAPPINGS / "arches.tsv", header, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uapi-deb", type=Path, required=True, help="newer linux-libc-dev .deb")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as unpacked:
            bases = generate_syscalls(unpack_uapi(args.uapi_deb, Path(unpacked)))
        generate_arches(bases)
    except GenerationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
