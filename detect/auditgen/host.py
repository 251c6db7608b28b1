"""What generation asks of the host it runs on (the only I/O of rule generation): whether a
directory exists, and whether this host's auditctl knows a syscall by name (`ausyscall`).

`Options(is_dir=host.is_dir, knows=host.knows_syscall)` fits a rule set to this host; tests
pass their own functions instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

AUSYSCALL = "ausyscall"


def is_dir(path: str) -> bool:
    return os.path.isdir(path)


@cache
def knows_syscall(arch_table: str, name: str) -> bool:
    """Whether `ausyscall ARCH NAME --exact` resolves the name (auditctl uses the same tables); True
    when ausyscall is not installed (nothing to ask: names are written as they are)."""
    program = shutil.which(AUSYSCALL)
    if program is None:
        return True
    done = subprocess.run([program, arch_table, name, "--exact"], capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip().isdigit()
