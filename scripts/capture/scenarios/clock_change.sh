#!/bin/bash
# The clock set to the current time (it moves by microseconds at most) with raw syscalls from
# python3 ctypes: clock_settime and settimeofday; then `date -s` with the current time to the
# nanosecond (glibc uses clock_settime); adjtimex and clock_adjtime with modes=0 (read only).
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
require "$CAPTURE_PY":python3
"$CAPTURE_PY" - <<'PY'
import ctypes
import time

SYS_ADJTIMEX, SYS_SETTIMEOFDAY, SYS_CLOCK_SETTIME, SYS_CLOCK_ADJTIME = 159, 164, 227, 305
CLOCK_REALTIME = 0
TIMEX_SIZE = 208  # sizeof(struct timex) on x86_64; zeroed, so modes=0: read only


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def call(name: str, number: int, *args: object) -> None:
    print(name, libc.syscall(number, *args), ctypes.get_errno())


libc = ctypes.CDLL(None, use_errno=True)
now = time.clock_gettime_ns(CLOCK_REALTIME)
now_ts = Timespec(*divmod(now, 10**9))
call("clock_settime", SYS_CLOCK_SETTIME, CLOCK_REALTIME, ctypes.byref(now_ts))
now = time.time_ns() // 1000
call("settimeofday", SYS_SETTIMEOFDAY, ctypes.byref(Timeval(*divmod(now, 10**6))), None)
call("adjtimex", SYS_ADJTIMEX, ctypes.create_string_buffer(TIMEX_SIZE))
call("clock_adjtime", SYS_CLOCK_ADJTIME, CLOCK_REALTIME, ctypes.create_string_buffer(TIMEX_SIZE))
PY
date -s "@$(date +%s.%N)" >/dev/null
