"""What generation asks of the host it runs on (the only I/O of rule generation): whether a
directory exists, whether this host's auditctl knows a syscall by name (`ausyscall`), and
which programs of a file name are installed (`programs`: in the program directories of FHS
3.0, symlinks resolved, with their ELF class).

`Options(is_dir=host.is_dir, knows=host.knows_syscall)` fits a rule set to this host (what
`detect audit-rules generate` does by default); tests pass their own functions instead.
Without them (`--portable`), `portable_dir` stands in for the host: the directories every Linux
system has (FHS 3.0's required ones, plus /home and /root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

AUSYSCALL = "ausyscall"
# where installed programs lie (FHS 3.0: /bin, /sbin, /usr/bin, /usr/sbin, /usr/local/*)
PROGRAM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
ELF_MAGIC = b"\x7fELF"
ELF_CLASSES = {1: 32, 2: 64}  # e_ident[EI_CLASS]
# FHS 3.0 chapters 3-5: the required directories of /, /usr and /var, plus /home and /root
PORTABLE_DIRS = frozenset(
    [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/etc/opt",
        "/home",
        "/lib",
        "/media",
        "/mnt",
        "/opt",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/include",
        "/usr/lib",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/etc",
        "/usr/local/lib",
        "/usr/local/sbin",
        "/usr/local/share",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/cache",
        "/var/lib",
        "/var/local",
        "/var/lock",
        "/var/log",
        "/var/opt",
        "/var/run",
        "/var/spool",
        "/var/tmp",
    ]
)


def is_dir(path: str) -> bool:
    return os.path.isdir(path)


def exists(path: str) -> bool:
    return os.path.exists(path)


def portable_dir(path: str) -> bool:
    """Whether every Linux system has the directory (what `--portable` output assumes)."""
    return path in PORTABLE_DIRS


@cache
def knows_syscall(arch_table: str, name: str) -> bool:
    """Whether `ausyscall ARCH NAME --exact` resolves the name (auditctl uses the same tables); True
    when ausyscall is not installed (nothing to ask: names are written as they are)."""
    program = shutil.which(AUSYSCALL)
    if program is None:
        return True
    done = subprocess.run([program, arch_table, name, "--exact"], capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip().isdigit()


def programs(name: str) -> tuple[tuple[str, int | None], ...]:
    """The installed programs called `name`: (real path, ELF class 64 or 32, None for a
    script), each real path once (`/bin/sh` and `/usr/bin/sh` -> `/usr/bin/dash`)."""
    found: dict[str, int | None] = {}
    for folder in PROGRAM_DIRS:
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            found[real] = elf_class(real)
    return tuple(sorted(found.items()))


def elf_class(path: str) -> int | None:
    """64 or 32 for an ELF file, None for anything else (a script)."""
    try:
        with open(path, "rb") as file:
            head = file.read(5)
    except OSError:
        return None
    return ELF_CLASSES.get(head[4]) if head[:4] == ELF_MAGIC and len(head) == 5 else None
