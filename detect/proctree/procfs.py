"""Seeding the tree from /proc: the processes running when a log begins.

The one module that reads /proc (STYLE.md 11); tests point `procfs` at a folder of their own.
Nothing in `detect` calls it today: `detect stream` learns each process from the events that
name it (a process first seen in an event is known by its `ppid`). A caller that starts on a
running host may call `seed_from_proc(tree)` once before the first event: every running process
then has its image, command line, user and parent, and its real start time (boot time from
`stat`'s `btime` plus the process's `starttime` in clock ticks). Processes that vanish while
they are read, or whose files cannot be read, are skipped and counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from detect.auditd.interpret import id_name
from detect.proctree.process import PROC, Process
from detect.proctree.tree import ProcessTree

PROCFS = Path("/proc")
CLOCK_TICKS = 100  # USER_HZ on every Linux architecture detect reads
SEED_SERIAL = 0  # processes from /proc have no event: serial 0 in their key


@dataclass(frozen=True)
class ProcEntry:
    """What /proc says of one process."""

    pid: int
    ppid: int
    start_ms: int
    exe: str | None
    argv: tuple[str, ...]
    uid: str | None


@dataclass
class SeedResult:
    seeded: int = 0
    skipped: int = 0  # vanished or unreadable while reading


def read_entry(folder: Path, boot_ms: int) -> ProcEntry:
    """One process's entry; OSError or ValueError when it vanished or reads wrong."""
    stat = (folder / "stat").read_text(encoding="utf-8", errors="surrogateescape")
    after = stat[stat.rindex(")") + 2 :].split()  # comm may hold spaces and parentheses
    ppid, start_ticks = int(after[1]), int(after[19])
    try:
        exe: str | None = os.readlink(folder / "exe")
    except OSError:
        exe = None  # kernel threads, or not ours to read
    raw = (folder / "cmdline").read_bytes()
    argv = tuple(part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0") if part)
    return ProcEntry(
        int(folder.name), ppid, boot_ms + start_ticks * 1000 // CLOCK_TICKS, exe, argv, _uid(folder)
    )


def _uid(folder: Path) -> str | None:
    for line in (folder / "status").read_text(encoding="utf-8").splitlines():
        if line.startswith("Uid:"):
            return line.split()[1]
    return None


def boot_time_ms(procfs: Path) -> int:
    for line in (procfs / "stat").read_text(encoding="utf-8").splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) * 1000
    raise ValueError(f"{procfs / 'stat'}: no btime line")


def read_proc(procfs: Path = PROCFS) -> tuple[list[ProcEntry], int]:
    """Every readable process of `procfs`, and how many could not be read."""
    boot_ms = boot_time_ms(procfs)
    entries: list[ProcEntry] = []
    skipped = 0
    for folder in procfs.iterdir():
        if not folder.name.isdigit():
            continue
        try:
            entries.append(read_entry(folder, boot_ms))
        except (OSError, ValueError, IndexError):
            skipped += 1
    return entries, skipped


def seed_from_proc(tree: ProcessTree, procfs: Path = PROCFS, host: str = "") -> SeedResult:
    """Add the processes of `procfs` to `tree` (host `host`), parents linked."""
    entries, skipped = read_proc(procfs)
    result = SeedResult(skipped=skipped)
    made: dict[int, Process] = {}
    for entry in sorted(entries, key=lambda e: (e.start_ms, e.pid)):
        made[entry.pid] = _seed(tree, entry, host)
        result.seeded += 1
    for entry in entries:
        parent = made.get(entry.ppid)
        if parent is not None:
            tree.adopt(made[entry.pid], parent)
    return result


def _seed(tree: ProcessTree, entry: ProcEntry, host: str) -> Process:
    process = tree.create(host, entry.pid, entry.start_ms, SEED_SERIAL, None)
    process.origin = PROC
    process.confirmed = True  # seen running: its ppid is its own
    process.ppid = entry.ppid or None
    if entry.exe is not None:
        tree.exec(process, entry.exe, entry.argv or None, entry.start_ms, how=PROC)
    if entry.uid is not None:
        process.uid, process.user = entry.uid, id_name(entry.uid)
    return process
