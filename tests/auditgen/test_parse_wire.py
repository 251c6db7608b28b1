"""go-libaudit's test data: rule text with the wire bytes auditctl sent for it (read back from
the kernel). Decoding each `struct audit_rule_data` and comparing it with the model's meaning of
the same text checks the parse, field by field, with the kernel's numbers (mappings/)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from detect.auditgen.model import AuditRuleMeaning, SyscallRule, Watch
from detect.auditgen.parse import parse_rule
from detect.auditgen.values import STRING_FIELDS, audit_arch_number, audit_rule_table

TESTDATA = (
    Path(__file__).resolve().parents[3]
    / "shared/auditd-rulesets/elastic__go-libaudit/rule/testdata"
)
WORDS = 64  # AUDIT_BITMASK_SIZE and AUDIT_MAX_FIELDS
HEADER = struct.Struct("<3I")
# Every syscall, as the kernel gives it back: the top 16 bits select syscall classes
# (AUDIT_SYSCALL_CLASSES) and the kernel clears them when it loads the rule.
ALL_SYSCALLS = (0xFFFFFFFF,) * (WORDS - 1) + (0x0000FFFF,)
WATCH_FIELD = 105  # AUDIT_WATCH
DIR_FIELD = 107  # AUDIT_DIR


@dataclass(frozen=True)
class WireRule:
    flags: int
    action: int
    mask: tuple[int, ...]
    fields: tuple[tuple[int, int, int | str], ...]  # (field, op bits, number or string)


def decode(data: bytes) -> WireRule:
    """struct audit_rule_data: flags, action, field_count, mask[64], fields[64], values[64],
    fieldflags[64], buflen, buf (the strings of string fields, their lengths in values)."""
    flags, action, count = HEADER.unpack_from(data, 0)
    words = [struct.unpack_from(f"<{WORDS}I", data, HEADER.size + 4 * WORDS * i) for i in range(4)]
    mask, fields, values, ops = words
    (buflen,) = struct.unpack_from("<I", data, HEADER.size + 16 * WORDS)
    buf = data[HEADER.size + 16 * WORDS + 4 :][:buflen]
    out: list[tuple[int, int, int | str]] = []
    for index in range(count):
        value: int | str = values[index]
        if fields[index] in _string_numbers():
            value, buf = buf[: values[index]].decode(), buf[values[index] :]
        out.append((fields[index], ops[index], value))
    return WireRule(flags, action, tuple(mask), tuple(out))


def _string_numbers() -> set[int]:
    return {audit_rule_table().number("field", name) for name in STRING_FIELDS}


def expected(meaning: AuditRuleMeaning, prepend: bool) -> WireRule:
    table = audit_rule_table()
    flags = table.number("list", meaning.list_name) | (
        table.number("list", "prepend") if prepend else 0
    )
    return WireRule(
        flags,
        table.number("action", meaning.action),
        _mask(meaning.syscalls),
        tuple(_wire_field(name, op, value) for name, op, value in meaning.fields),
    )


def _mask(syscalls: frozenset[int] | None) -> tuple[int, ...]:
    if syscalls is None:
        return ALL_SYSCALLS
    words = [0] * WORDS
    for number in syscalls:
        words[number // 32] |= 1 << (number % 32)
    return tuple(words)


def _wire_field(name: str, op: str, value: int | str) -> tuple[int, int, int | str]:
    table = audit_rule_table()
    if name == "arch":
        number = audit_arch_number(str(value))
        assert number is not None
        value = number
    elif isinstance(value, int):
        value &= 0xFFFFFFFF
    return (table.number("field", name), table.number("op", op), value)


def _machine(text: str) -> str:
    first = text.splitlines()[0]
    return "aarch64" if "aarch64" in first else "x86_64"


def cases() -> list[tuple[str, int, str, str, bytes]]:
    out = []
    for path in sorted(TESTDATA.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        for index, entry in enumerate(yaml.safe_load(text)["rules"]):
            out.append((path.name, index, _machine(text), entry["flags"], entry["bytes"]))
    return out


CASES = cases() if TESTDATA.is_dir() else []


def test_the_test_data_is_there() -> None:
    assert len(CASES) == 126


@pytest.mark.parametrize(("name", "index", "machine", "text", "data"), CASES)
def test_parse_agrees_with_the_kernel_wire_form(
    name: str, index: int, machine: str, text: str, data: bytes
) -> None:
    item = parse_rule(text)
    wire = decode(data)
    if isinstance(item, Watch):
        assert wire.fields[0][0] in (WATCH_FIELD, DIR_FIELD)
        meaning = item.meaning(machine, is_dir=wire.fields[0][0] == DIR_FIELD)
        prepend = False
    else:
        assert isinstance(item, SyscallRule)
        meaning = item.meaning(machine)
        prepend = item.command == "-A"
    assert expected(meaning, prepend) == wire, f"{name}[{index}]: {text}"
