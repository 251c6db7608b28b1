"""Interpretation: syscall, arch and errno names, EXECVE and PROCTITLE argv, sockaddr, modes.

Each function is pure and cheap to call again: event-level results are kept in the event's slots.
ENRICHED logs carry some interpretations already (after 0x1D); RAW logs get the same names here.
"""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache
from typing import Any, Final, Literal

from detect.auditd.event import AuditEvent
from detect.auditd.numbers import U32_MAX, parse_uint
from detect.auditd.record import Record
from detect.kernel import tables

Order = Literal["little", "big"]
UNSET_ID: Final = "4294967295"
ROOT_ID: Final = "0"
ID_NAMES: Final = (
    "auid",
    "uid",
    "gid",
    "euid",
    "suid",
    "fsuid",
    "egid",
    "sgid",
    "fsgid",
    "ouid",
    "ogid",
)
BIG_ENDIAN_ARCHES: Final = frozenset(("ppc64", "ppc", "s390x", "s390", "armeb"))
FILE_TYPES: Final = {
    0o140000: "socket",
    0o120000: "link",
    0o100000: "file",
    0o060000: "block-device",
    0o040000: "dir",
    0o020000: "character-device",
    0o010000: "fifo",
}
MODE_FLAGS: Final = ((0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky"))
SOCKET_FAMILIES: Final = {
    0: "unspec",
    1: "unix",
    2: "inet",
    10: "inet6",
    16: "netlink",
    17: "packet",
}

# Arch and (arch, syscall number) names remembered: garbage invents endless ones.
NAME_CACHE: Final = 4096


def to_bytes(text: str) -> bytes:
    """Back to the exact bytes a decoded value came from (surrogate escapes included)."""
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


@lru_cache(maxsize=NAME_CACHE)
def arch_of(arch_hex: str) -> str | None:
    return tables.arch_name(arch_hex)


@lru_cache(maxsize=NAME_CACHE)
def syscall_of(arch: str | None, number: str) -> str | None:
    value = parse_uint(number, U32_MAX)
    if arch is None or value is None:
        return None
    return tables.syscall_name(arch, value)


UNNAMED: Final = "\x00"  # no name (None) in SYSCALL_NAMES, which cannot hold None here
SYSCALL_NAMES: Final[dict[str, dict[str, str]]] = {}  # arch hex -> number text -> name


def syscall_name_of(arch_hex: str, number: str) -> str | None:
    """`syscall_of(arch_of(arch_hex), number)` from a table of the texts as logged: the
    syscall name of every event (the process tree, category views, record views) costs two
    dictionary lookups, not two calls through lru_cache (bounded as arch_of and syscall_of)."""
    numbers = SYSCALL_NAMES.get(arch_hex)
    if numbers is None:
        if len(SYSCALL_NAMES) >= NAME_CACHE:
            SYSCALL_NAMES.clear()
        numbers = SYSCALL_NAMES[arch_hex] = {}
    name = numbers.get(number)
    if name is None:
        if len(numbers) >= NAME_CACHE:
            numbers.clear()
        found = syscall_of(arch_of(arch_hex), number)
        name = numbers[number] = UNNAMED if found is None else found
    return None if name is UNNAMED else name


def errno_of(exit_value: str) -> str | None:
    """`-13` → `EACCES`; non-negative exits are results, not errors."""
    number = parse_uint(exit_value[1:], 4095) if exit_value.startswith("-") else None
    return None if number is None else tables.errno_name(number)


def record_interpreted(record: Record) -> dict[str, str]:
    """ENRICHED-style names for one record: what ENRICHED logs carry, computed for RAW ones."""
    if record.interpreted is None:
        record.interpreted = _interpret(record)
    return record.interpreted


def interpreted_value(record: Record, key: str) -> str | None:
    """`record_interpreted(record).get(key)`, without interpreting the whole record where the
    answer does not need it: the syscall name (`syscall_name`), and any name that is not
    upper-case (`_interpret` adds only upper-case names to the ENRICHED fields)."""
    if record.interpreted is None:
        if key == "SYSCALL":
            return syscall_name(record)
        if not key[:1].isupper():
            return record.enriched.get(key)
    return record_interpreted(record).get(key)


def _interpret(record: Record) -> dict[str, str]:
    out = dict(record.enriched)
    fields = record.fields
    arch_hex = fields.get("arch")
    if arch_hex is not None:
        arch = arch_of(arch_hex)
        if arch is not None:
            out.setdefault("ARCH", arch)
        name = syscall_name_of(arch_hex, fields.get("syscall", ""))
        if name is not None:
            out.setdefault("SYSCALL", name)
    if UNSET_ID in record.line:  # the header rarely has it: then the loop finds nothing
        for field in ID_NAMES:
            if fields.get(field) == UNSET_ID:
                out.setdefault(field.upper(), "unset")
    if "exit" in fields:
        errno = errno_of(fields["exit"])
        if errno is not None:
            out.setdefault("EXIT", errno)
    if record.type == "PROCTITLE" and "proctitle" in fields:
        out.setdefault("PROCTITLE", " ".join(split_nul(fields["proctitle"])))
    return out


def split_nul(text: str) -> list[str]:
    parts = text.split("\x00")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def execve_argv(event: AuditEvent) -> list[str] | None:
    """The decoded argv of the event's EXECVE records, `aN_len`/`aN[i]` chunks joined.

    `argc` may promise more arguments than the records hold (a truncated or lost record):
    the arguments present are returned, in order, stopping at the first missing one, and
    `execve_truncated` says so; likewise when a chunked argument is shorter than its `aN_len`.
    """
    if event.argv_truncated is None:
        records = event.all("EXECVE")
        argv, complete = None, True
        if records:
            merged: dict[str, str] = {}
            for record in records:
                for key, value in record.fields.items():
                    merged.setdefault(key, value)
            argv, complete = _collect_args(merged)
        event.argv = argv
        event.argv_truncated = not complete
    return event.argv


def _collect_args(fields: dict[str, str]) -> tuple[list[str], bool]:
    argc_text = fields.get("argc", "")
    argc = parse_uint(argc_text, U32_MAX)
    if argc is None:
        argc = len(fields)
    argv: list[str] = []
    complete = True
    for index in range(argc):
        value = fields.get(f"a{index}")
        if value is None and f"a{index}_len" in fields:
            value, whole = _join_chunks(fields, index)
            complete = complete and whole
        if value is None:
            return argv, False
        argv.append(value)
    return argv, complete


def _join_chunks(fields: dict[str, str], index: int) -> tuple[str, bool]:
    """Chunks joined as bytes; whole when their length is `aN_len` (of the text, or of its hex)."""
    chunks: list[bytes] = []
    position = 0
    while (chunk := fields.get(f"a{index}[{position}]")) is not None:
        chunks.append(to_bytes(chunk))
        position += 1
    data = b"".join(chunks)
    expected = fields.get(f"a{index}_len", "")
    whole = parse_uint(expected) in (len(data), 2 * len(data))
    return from_bytes(data), whole


def execve_truncated(event: AuditEvent) -> bool:
    """True when argc promised more arguments than the records hold, or a chunk is missing."""
    execve_argv(event)
    return bool(event.argv_truncated)


def proctitle_argv(event: AuditEvent) -> list[str] | None:
    """PROCTITLE split on NUL; the kernel cuts it at 128 bytes, so prefer EXECVE's argv."""
    record = event.first("PROCTITLE")
    if record is None or "proctitle" not in record.fields:
        return None
    return split_nul(record.fields["proctitle"])


def event_arch(event: AuditEvent) -> str | None:
    syscall = event.first("SYSCALL")
    arch_hex = syscall.fields.get("arch") if syscall is not None else None
    return arch_of(arch_hex) if arch_hex else None


def event_syscall(event: AuditEvent) -> str | None:
    """The name of the event's syscall (`openat`), or None without a SYSCALL record."""
    syscall = event.first("SYSCALL")
    return syscall_name(syscall) if syscall is not None else None


def syscall_name(syscall: Record) -> str | None:
    """A SYSCALL record's syscall name, as `record_interpreted` gives it (the ENRICHED name
    first), without interpreting the rest of the record."""
    interpreted = syscall.interpreted
    if interpreted is not None:
        return interpreted.get("SYSCALL")
    name = syscall.enriched.get("SYSCALL")
    if name is not None:
        return name
    fields = syscall.fields
    arch = fields.get("arch")
    if arch is None:
        return None
    return syscall_name_of(arch, fields.get("syscall", ""))


def event_sockaddr(event: AuditEvent) -> dict[str, Any] | None:
    """The event's SOCKADDR decoded (once per event; shared: do not mutate)."""
    if not event.sockaddr_done:
        record = event.first("SOCKADDR")
        event.sockaddr = sockaddr(record, event_arch(event)) if record is not None else None
        event.sockaddr_done = True
    return event.sockaddr


def sockaddr(record: Record, arch: str | None = None) -> dict[str, Any] | None:
    """A SOCKADDR record's `saddr` to family, address, port or path (inet, inet6, unix, netlink)."""
    saddr = record.fields.get("saddr")
    if saddr is None:
        return None
    try:
        data = bytes.fromhex(saddr)
    except ValueError:
        return None
    return decode_sockaddr(data, arch in BIG_ENDIAN_ARCHES)


def decode_sockaddr(data: bytes, big_endian: bool = False) -> dict[str, Any] | None:
    if len(data) < 2:
        return None
    order: Order = "big" if big_endian else "little"
    number = int.from_bytes(data[:2], order)
    family = SOCKET_FAMILIES.get(number, str(number))
    out: dict[str, Any] = {"family": family}
    decoder = SOCKADDR_DECODERS.get(family)
    if decoder is not None:
        decoder(data, order, out)
    return out


def _inet(data: bytes, order: Order, out: dict[str, Any]) -> None:
    if len(data) >= 8:
        out["port"] = int.from_bytes(data[2:4], "big")
        out["addr"] = ".".join(str(byte) for byte in data[4:8])


def _inet6(data: bytes, order: Order, out: dict[str, Any]) -> None:
    if len(data) >= 24:
        out["port"] = int.from_bytes(data[2:4], "big")
        out["addr"] = str(ipaddress.IPv6Address(data[8:24]))


def _unix(data: bytes, order: Order, out: dict[str, Any]) -> None:
    path = data[2:]
    if path[:1] == b"\x00":
        out["path"] = "@" + from_bytes(path[1:].rstrip(b"\x00"))
        out["abstract"] = True
    elif path:
        out["path"] = from_bytes(path.split(b"\x00", 1)[0])


def _netlink(data: bytes, order: Order, out: dict[str, Any]) -> None:
    if len(data) >= 12:
        out["pid"] = int.from_bytes(data[4:8], order)
        out["groups"] = int.from_bytes(data[8:12], order)


SOCKADDR_DECODERS: Final = {"inet": _inet, "inet6": _inet6, "unix": _unix, "netlink": _netlink}


@cache
def file_mode(mode_text: str) -> dict[str, Any] | None:
    """`0100755` → type `file`, permissions `0755`, plus setuid/setgid/sticky flags (shared:
    do not mutate). Modes are few, so the cache stays small."""
    try:
        mode = int(mode_text, 8)
    except ValueError:
        return None
    out: dict[str, Any] = {
        "type": FILE_TYPES.get(mode & 0o170000, "unknown"),
        "perms": f"{mode & 0o7777:04o}",
    }
    out["flags"] = [name for bit, name in MODE_FLAGS if mode & bit]
    return out


def id_name(number: str) -> str:
    """What a RAW log's id reads as when ENRICHED names are not there."""
    if number == ROOT_ID:
        return "root"
    if number == UNSET_ID:
        return "unset"
    return number
