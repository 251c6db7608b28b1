#!/bin/bash
# ptrace on processes the script starts. python3 through ctypes: a forked child that calls
# PTRACE_TRACEME (near miss) and exits; another child attached with PTRACE_ATTACH, one word of
# its memory read with PTRACE_PEEKDATA and written back unchanged with PTRACE_POKEDATA,
# PTRACE_GETREGS, then PTRACE_DETACH. Then `strace -p` on a `sleep` started here (PTRACE_SEIZE,
# PTRACE_INTERRUPT, ...), stopped after a second. strace is Debian's package, present here.
set -eu
# Programs run below that a minimal Debian may lack, as PROGRAM:PACKAGE: the Makefile's
# DEB_PACKAGES installs them (tests/test_system_programs.py keeps both in step). Builtins only.
require() {
    local s
    for s; do
        command -v "${s%%:*}" >/dev/null && continue
        echo "missing program: ${s%%:*} (Debian package ${s#*:})" >&2
        exit 127
    done
}
require "$CAPTURE_PY":python3 strace:strace
"$CAPTURE_PY" - <<'PY'
import ctypes
import os
import signal
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
TRACEME, PEEKDATA, POKEDATA, GETREGS, ATTACH, DETACH = 0, 2, 5, 12, 16, 17


def call(request: int, pid: int = 0, addr: int = 0, data: int = 0) -> int:
    ctypes.set_errno(0)
    result = libc.ptrace(request, pid, addr, data)
    if result == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), f"ptrace({request})")
    return result


child = os.fork()
if child == 0:
    call(TRACEME)
    os._exit(0)
os.waitpid(child, 0)

word = ctypes.c_long(0x5A5A5A5A)
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
try:
    call(ATTACH, child)
    os.waitpid(child, 0)
    value = call(PEEKDATA, child, ctypes.addressof(word))
    assert value == word.value, value
    call(POKEDATA, child, ctypes.addressof(word), value)
    regs = ctypes.create_string_buffer(27 * 8)  # struct user_regs_struct
    call(GETREGS, child, 0, ctypes.addressof(regs))
    call(DETACH, child)
finally:
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
PY
sleep 30 &
sleeper=$!
strace -qq -e trace=none -p "$sleeper" -o /dev/null &
tracer=$!
sleep 1
kill "$tracer"
wait "$tracer" || true
kill "$sleeper"
wait "$sleeper" || true
