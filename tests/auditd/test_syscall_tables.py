"""The syscall tables: every row audit's ausyscall gives is kept as it is, and the newer kernel's
syscalls (from the supplement each table's header names) are added."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from detect.kernel import tables

SOURCE_RE = re.compile(r"^# source: ausyscall (\S+) --dump", re.M)
PACKAGE_RE = re.compile(r"^# package: auditd (\S+)", re.M)
SUPPLEMENT_ROWS_RE = re.compile(r"^# supplement rows: (\d+),", re.M)
SUPPLEMENT_PACKAGE_RE = re.compile(r"^# supplement package: linux-libc-dev (\S+) ", re.M)

Rows = set[tuple[int, str]]


def header(table: str) -> str:
    return (tables.MAPPINGS_DIR / "syscalls" / f"{table}.tsv").read_text(encoding="utf-8")


def rows(table: str) -> Rows:
    lines = [line for line in header(table).splitlines() if not line.startswith("#")]
    return {(int(number), name) for number, name in (line.split("\t") for line in lines)}


def found(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    assert match is not None, pattern.pattern
    return match[1]


def installed_auditd() -> str | None:
    if shutil.which("ausyscall") is None or shutil.which("dpkg-query") is None:
        return None
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "auditd"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def ausyscall_rows(arg: str) -> Rows:
    out = subprocess.run(["ausyscall", arg, "--dump"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()[1:]  # after "Using <table> syscall table:"
    return {(int(number), name) for number, name in (line.split("\t") for line in lines)}


AUSYSCALL_TABLES = [t for t in sorted(tables.SUPPORTED_ARCHES) if SOURCE_RE.search(header(t))]


def test_the_tables_from_ausyscall() -> None:
    assert AUSYSCALL_TABLES == ["aarch64", "arm", "i386", "ppc64le", "s390x", "x86_64"]


@pytest.mark.parametrize("table", AUSYSCALL_TABLES)
def test_every_ausyscall_row_is_kept_and_the_supplement_adds_only_new_ones(table: str) -> None:
    text = header(table)
    version = installed_auditd()
    if version != found(PACKAGE_RE, text):
        pytest.skip(f"needs ausyscall of auditd {found(PACKAGE_RE, text)}, found {version}")
    audit = ausyscall_rows(found(SOURCE_RE, text))
    added = rows(table) - audit
    assert audit <= rows(table)
    assert len(added) == int(found(SUPPLEMENT_ROWS_RE, text))
    assert not {n for n, _ in added} & {n for n, _ in audit}
    assert not {name for _, name in added} & {name for _, name in audit}


@pytest.mark.parametrize("table", sorted(tables.SUPPORTED_ARCHES))
def test_every_table_names_its_supplement(table: str) -> None:
    text = header(table)
    assert found(SUPPLEMENT_PACKAGE_RE, text) == "7.3.4-1~bpo13+1"
    assert int(found(SUPPLEMENT_ROWS_RE, text)) > 0


@pytest.mark.parametrize(
    ("arch", "number", "name"),
    [
        ("x86_64", 335, "uretprobe"),
        ("x86_64", 451, "cachestat"),
        ("x86_64", 452, "fchmodat2"),
        ("x86_64", 462, "mseal"),
        ("x86_64", 469, "file_setattr"),
        ("i386", 463, "setxattrat"),
        ("aarch64", 457, "statmount"),
        ("arm", 467, "open_tree_attr"),
        ("armeb", 454, "futex_wake"),
        ("ppc64le", 458, "listmount"),
        ("ppc64", 0, "restart_syscall"),
        ("s390x", 393, "semget"),
        ("s390x", 459, "lsm_get_self_attr"),
        ("riscv64", 258, "riscv_hwprobe"),
        ("riscv64", 461, "lsm_list_modules"),
    ],
)
def test_newer_syscalls_are_known(arch: str, number: int, name: str) -> None:
    assert tables.syscall_name(arch, number) == name
    assert tables.syscall_number(arch, name) == number


@pytest.mark.parametrize(
    ("arch", "number", "audit_name", "kernel_name"),
    [
        ("x86_64", 17, "pread", "pread64"),
        ("aarch64", 80, "newfstat", "fstat"),
        ("ppc64le", 319, "perf_counter_open", "perf_event_open"),
        ("arm", 140, "llseek", "_llseek"),
    ],
)
def test_audit_names_win_where_the_kernel_names_a_number_differently(
    arch: str, number: int, audit_name: str, kernel_name: str
) -> None:
    assert tables.syscall_name(arch, number) == audit_name
    assert tables.syscall_number(arch, kernel_name) is None
