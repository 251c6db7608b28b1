"""The interpretation tables under mappings/: real facts, and strict validation of bad tables."""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
from pathlib import Path

import pytest

from detect.core.errors import Location
from detect.kernel import tables
from detect.kernel.tables import TableError

SPECS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "audit-specs"
    / "linux-audit__audit-documentation"
    / "specs"
)
MESSAGE_DICTIONARY = SPECS / "messages" / "message-dictionary.csv"
# The one record type whose log name is not its macro without AUDIT_ (mappings/README.md).
LOG_NAMES = {"AUDIT_AA": "APPARMOR"}


def test_built_in_tables_load() -> None:
    tables.load_all()


@pytest.mark.parametrize(
    ("arch", "number", "name"),
    [
        ("x86_64", 59, "execve"),
        ("x86_64", 322, "execveat"),
        ("x86_64", 42, "connect"),
        ("i386", 11, "execve"),
        ("aarch64", 221, "execve"),
        ("riscv64", 221, "execve"),
        ("riscv64", 259, "riscv_flush_icache"),
        ("arm", 11, "execve"),
        ("armeb", 11, "execve"),
        ("ppc64le", 11, "execve"),
        ("ppc64", 11, "execve"),
        ("s390x", 11, "execve"),
    ],
)
def test_syscall_names(arch: str, number: int, name: str) -> None:
    assert tables.syscall_name(arch, number) == name
    assert tables.syscall_number(arch, name) == number


def test_riscv64_arch_specific_entries() -> None:
    # asm-generic reserves 244..259 for arch-specific calls: riscv64's are riscv_*.
    specific = {n: tables.syscall_name("riscv64", n) for n in range(244, 260)}
    found = {n: name for n, name in specific.items() if name is not None}
    assert found
    assert all(name.startswith("riscv_") for name in found.values())
    assert tables.syscall_name("aarch64", 259) is None


def test_unknown_syscalls_and_arches() -> None:
    assert tables.syscall_name("x86_64", 99999) is None
    assert tables.syscall_number("x86_64", "no_such_call") is None
    assert tables.syscall_name("sparc64", 59) is None
    assert tables.syscall_name("s390", 11) is None  # audit names it; no table here


def test_every_supported_arch_has_a_table() -> None:
    for arch in tables.SUPPORTED_ARCHES:
        assert tables.arch_table(arch) == arch
        assert tables.syscall_number(arch, "execve") is not None


@pytest.mark.parametrize(
    ("value", "name", "table"),
    [
        ("c000003e", "x86_64", "x86_64"),
        ("C000003E", "x86_64", "x86_64"),
        ("40000003", "i386", "i386"),
        ("c00000b7", "aarch64", "aarch64"),
        ("40000028", "armeb", "arm"),
        ("c0000015", "ppc64le", "ppc64le"),
        ("80000015", "ppc64", "ppc64le"),
        ("80000016", "s390x", "s390x"),
        ("16", "s390", None),
        ("c00000f3", "riscv64", "riscv64"),
        ("400000f3", "riscv32", None),
    ],
)
def test_arches(value: str, name: str, table: str | None) -> None:
    assert tables.arch_name(value) == name
    assert tables.arch_table(name) == table


@pytest.mark.parametrize("value", ["", "zz", "0x", "c000003e0", "0"])
def test_unknown_arch_values(value: str) -> None:
    assert tables.arch_name(value) is None


def test_errno_names() -> None:
    assert tables.errno_name(13) == "EACCES"
    assert tables.errno_name(1) == "EPERM"
    assert tables.errno_name(2) == "ENOENT"
    assert tables.errno_name(-13) == "EACCES"
    assert tables.errno_name(0) is None
    assert tables.errno_name(100000) is None


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (1300, "SYSCALL"),
        (1309, "EXECVE"),
        (1327, "PROCTITLE"),
        (1320, "EOE"),
        (1400, "AVC"),
        (1107, "USER_AVC"),
        (1112, "USER_LOGIN"),
        (1306, "SOCKADDR"),
        (1321, "BPRM_FCAPS"),
        (1325, "NETFILTER_CFG"),
        (1700, "ANOM_PROMISCUOUS"),
        (1500, "APPARMOR"),
        (2121, "ANOM_SESSION"),
    ],
)
def test_record_types(number: int, name: str) -> None:
    assert tables.record_type_name(number) == name
    assert tables.record_type_number(name) == number


def test_record_type_names_as_rules_and_auditd_write_them() -> None:
    assert tables.record_type_number("execve") == 1309
    assert tables.record_type_number("UNKNOWN[1338]") == 1338
    assert tables.record_type_number("NO_SUCH_TYPE") is None
    assert tables.record_type_name(9999) is None


@pytest.mark.skipif(not MESSAGE_DICTIONARY.is_file(), reason="shared/audit-specs not present")
def test_every_dictionary_record_type_resolves_both_ways() -> None:
    with MESSAGE_DICTIONARY.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 200
    wrong = []
    for row in rows:
        number, macro = int(row["VALUE"]), row["MACRO NAME"]
        name = LOG_NAMES.get(macro, macro.removeprefix("AUDIT_"))
        if tables.record_type_name(number) != name or tables.record_type_number(name) != number:
            wrong.append((number, macro))
    assert wrong == []


@pytest.mark.skipif(ctypes.util.find_library("audit") is None, reason="libaudit not installed")
def test_record_type_names_agree_with_libaudit() -> None:
    lib = ctypes.CDLL(ctypes.util.find_library("audit"))
    lib.audit_msg_type_to_name.restype = ctypes.c_char_p
    disagree = []
    for number in range(1000, 3000):
        printed, ours = lib.audit_msg_type_to_name(number), tables.record_type_name(number)
        if printed is not None and ours is not None and printed.decode() != ours:
            disagree.append((number, printed, ours))
    assert disagree == []


@pytest.mark.parametrize(
    ("record_type", "field", "encoded"),
    [
        ("EXECVE", "a0", True),
        ("EXECVE", "a1", True),
        ("EXECVE", "a12", True),
        ("EXECVE", "a1[3]", True),
        ("EXECVE", "a1_len", False),
        ("EXECVE", "argc", False),
        ("EXECVE", "a", False),
        ("EXECVE", "ax", False),
        ("SYSCALL", "a0", False),
        ("SYSCALL", "a3", False),
        ("SYSCALL", "arch", False),
        ("SYSCALL", "exe", True),
        ("SYSCALL", "comm", True),
        ("SYSCALL", "key", True),
        ("SYSCALL", "pid", False),
        ("SOCKETCALL", "a0", False),
        ("CWD", "cwd", True),
        ("PATH", "name", True),
        ("PATH", "dev", False),
        ("PROCTITLE", "proctitle", True),
        ("USER_LOGIN", "acct", True),
        ("USER_CMD", "cmd", True),
        ("TTY", "data", True),
        ("AVC", "path", True),
        ("SOCKADDR", "saddr", True),
        ("UNKNOWN[1338]", "exe", True),
        ("UNKNOWN[1338]", "a0", False),
    ],
)
def test_is_encoded_field(record_type: str, field: str, encoded: bool) -> None:
    assert tables.is_encoded_field(record_type, field) is encoded


def write(tmp_path: Path, text: str, name: str = "table.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("# c\n0\tread\n1 write\n", 3, "expected 2 cells: '1 write'"),
        ("# c\n0\tread\n\n", 3, "expected 2 cells: ''"),
        ("# c\n0\tread\n1\t\n", 3, "expected 2 cells: '1\\t'"),
        ("0\tread\n01\twrite\n", 2, "not a valid decimal number: '01'"),
        ("0\tread\n-1\twrite\n", 2, "not a valid decimal number: '-1'"),
        ("0\tread\n1\tWrite\n", 2, "not a valid syscall: 'Write'"),
        ("0\tread\n0\twrite\n", 2, "number 0 repeated"),
        ("0\tread\n1\tread\n", 2, "name read repeated"),
    ],
)
def test_malformed_syscall_table(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TableError) as caught:
        tables.parse_syscall_table(path)
    assert caught.value == TableError(reason, Location(str(path), line))
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_empty_and_missing_tables(tmp_path: Path) -> None:
    path = write(tmp_path, "# only a comment\n")
    with pytest.raises(TableError) as caught:
        tables.parse_syscall_table(path)
    assert caught.value == TableError("table has no rows", Location(str(path)))
    with pytest.raises(TableError, match="cannot read table"):
        tables.parse_syscall_table(tmp_path / "missing.tsv")


def test_malformed_arch_table(tmp_path: Path) -> None:
    good = "c000003e\tAUDIT_ARCH_X86_64\tx86_64\tx86_64\tlibaudit\n"
    path = write(tmp_path, good + "c00000b7\tAUDIT_ARCH_AARCH64\taarch64\tsparc\tlibaudit\n")
    with pytest.raises(TableError) as caught:
        tables.parse_arch_table(path)
    assert caught.value == TableError("unknown syscall table sparc", Location(str(path), 2))
    path = write(tmp_path, good + "C00000B7\tAUDIT_ARCH_AARCH64\taarch64\t-\tlibaudit\n")
    with pytest.raises(TableError, match=":2: not a valid audit arch"):
        tables.parse_arch_table(path)


def test_malformed_record_type_table(tmp_path: Path) -> None:
    path = write(tmp_path, "1300\tSYSCALL\tSC\tKERN\tAUDIT_SYSCALL\tdictionary\n1309\tEXECVE\tSC\n")
    with pytest.raises(TableError, match=r"table\.tsv:2: expected 6 cells"):
        tables.parse_record_type_table(path)


def test_malformed_field_table(tmp_path: Path) -> None:
    exe = "exe\tencoded\t*\t-\texecutable name\tdictionary\n"
    cases = [
        ("exe\tencrypted\t*\t-\tm\ts\n", "unknown format 'encrypted'"),
        ("a0\tnumeric hexadecimal\tNOPE\t-\tm\ts\n", "unknown record type 'NOPE'"),
        ("a<M>\tencoded\tEXECVE\t-\tm\ts\n", "not a valid field name or pattern: 'a<M>'"),
        (exe, "field exe repeated for *"),
    ]
    for row, reason in cases:
        path = write(tmp_path, exe + row)
        with pytest.raises(TableError) as caught:
            tables.parse_field_table(path, {"EXECVE", "SYSCALL"})
        assert caught.value == TableError(reason, Location(str(path), 2))


def test_field_rows_for_a_record_type_override_generic_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev\tencoded\t*\t-\tm\ts\n"
        "dev\talphanumeric\tAVC\tavc\tm\ts\n"
        "a<N>\tencoded\tEXECVE\t-\tm\ts\n"
        "a<N>_len\tnumeric decimal\tEXECVE\t-\tm\ts\n",
    )
    rules = tables.parse_field_table(path, {"AVC", "EXECVE"})
    assert rules["*"].is_encoded("dev")
    assert not rules["AVC"].is_encoded("dev")
    assert rules["EXECVE"].is_encoded("dev")
    assert rules["EXECVE"].is_encoded("a7")
    assert not rules["EXECVE"].is_encoded("a7_len")
    assert not rules["*"].is_encoded("a7")
