"""Adversarial corpora (issue 18, must show 2), written to files from real captured lines: each
is what any local user (or a fleet, or garbage) can make the kernel or a log collector write."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from tests.hardening.helpers import capture_lines

STAMP = 1795317166  # the captures' time (2026-11-22)


def endless_event(path: Path, records: int) -> Path:
    """One SYSCALL and then `records` PATH records under the same serial, no EOE: one event
    that never ends (auditd's log of a call touching endless names)."""
    head = f"type=SYSCALL msg=audit({STAMP}.861:7): arch=c000003e syscall=2 success=yes exit=3"
    body = ' items=1 ppid=1 pid=42 auid=4242 uid=0 comm="x" exe="/usr/bin/x"\n'
    with path.open("w") as file:
        file.write(head + body)
        for item in range(records):
            file.write(f'type=PATH msg=audit({STAMP}.861:7): item={item} name="/tmp/f{item}"\n')
    return path


def endless_line(path: Path, size: int, *, compress: bool = False) -> Path:
    """A real event, then one line of `size` bytes without a newline until its end, then a
    real event again: the first and last must come out whole."""
    lines = capture_lines("execve_args")
    first, last = "".join(lines[:6]), "".join(lines[-6:])
    opener = gzip.open if compress else open
    with opener(path, "wb") as file:  # type: ignore[operator]
        file.write(first.encode())
        chunk = b"A" * (1 << 20)
        for _ in range(size // len(chunk)):
            file.write(chunk)
        file.write(b"\n" + last.encode())
    return path


def node_lines(nodes: int) -> Iterator[str]:
    """One two-record event on each of `nodes` distinct nodes, each a second apart."""
    for n in range(nodes):
        stamp = f"{STAMP + n // 100}.{n % 100:03d}"
        yield f"node=h{n} type=SYSCALL msg=audit({stamp}:{n + 1}): arch=c000003e syscall=2 pid=1\n"
        yield f'node=h{n} type=PATH msg=audit({stamp}:{n + 1}): item=0 name="/etc/h{n}"\n'


def many_nodes(path: Path, nodes: int) -> Path:
    path.write_text("".join(node_lines(nodes)))
    return path


def many_pids(path: Path, pids: int) -> Path:
    """`pids` execve events of distinct processes, each forked by the one before (a user's
    fork bomb as the kernel logs it)."""
    with path.open("w") as file:
        for n in range(pids):
            stamp = f"{STAMP + n // 1000}.{n % 1000:03d}"
            pid, ppid = 100_000 + n, 100_000 + n - 1
            file.write(
                f"type=SYSCALL msg=audit({stamp}:{n + 1}): arch=c000003e syscall=59 success=yes "
                f'exit=0 ppid={ppid} pid={pid} auid=4242 uid=1000 comm="sh" exe="/usr/bin/sh"\n'
                f'type=EXECVE msg=audit({stamp}:{n + 1}): argc=2 a0="sh" a1="-c"\n'
                f"type=EOE msg=audit({stamp}:{n + 1}): \n"
            )
    return path


def arg_max_execve(path: Path, arg_bytes: int = 1_400_000) -> Path:
    """The real `/bin/true AAA…` execve of the execve_args capture (serial 2120, a 40,000-byte
    argument the kernel split into 7,500-hex-digit chunks) with its argument grown to
    `arg_bytes`, chunked the same way: ~374 EXECVE records, what any user can log (ARG_MAX)."""
    real = [line for line in capture_lines("execve_args") if ":2120)" in line]
    head = "type=EXECVE msg=audit(1795317166.873:2120): "
    chunk = 3750  # bytes per record, as the kernel wrote them
    records = [f'{head}argc=2 a0="/bin/true" a1_len={arg_bytes} a1[0]={"41" * chunk}\n']
    records += [f"{head} a1[{n}]={'41' * chunk}\n" for n in range(1, arg_bytes // chunk)]
    before = [line for line in real if not line.startswith("type=EXECVE")]
    path.write_text("".join(before[:2] + records + before[2:]))
    return path
