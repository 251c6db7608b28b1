#!/bin/bash
# As root (python3 ctypes, raw syscalls): clock_settime and settimeofday to the current time (the
# clock moves by microseconds at most); adjtimex ADJ_TAI setting the TAI offset to 37 and back to
# what it was (only CLOCK_TAI moves, for a few microseconds); `date -s` with the current time. As
# uid 65534 (setpriv): the same clock_settime, settimeofday and adjtimex ADJ_TAI attempts, refused
# with EPERM, and `date -s`. Near misses: adjtimex and clock_adjtime with modes=0 (reads), as root
# and as uid 65534.
set -u
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
cat >"$CAPTURE_WORK/clock.py" <<'PY'
import ctypes
import sys
import time

SYS_ADJTIMEX, SYS_SETTIMEOFDAY, SYS_CLOCK_SETTIME, SYS_CLOCK_ADJTIME = 159, 164, 227, 305
CLOCK_REALTIME = 0
ADJ_TAI = 0x0080


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Timex(ctypes.Structure):  # struct timex on x86_64 (208 bytes)
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time", Timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("pad", ctypes.c_int * 11),
    ]


libc = ctypes.CDLL(None, use_errno=True)


def call(name, number, *args):
    print(name, libc.syscall(number, *args), ctypes.get_errno())


def read_only():
    call("adjtimex read", SYS_ADJTIMEX, ctypes.byref(Timex()))
    call("clock_adjtime read", SYS_CLOCK_ADJTIME, CLOCK_REALTIME, ctypes.byref(Timex()))


def set_clock():
    now = time.clock_gettime_ns(CLOCK_REALTIME)
    call("clock_settime", SYS_CLOCK_SETTIME, CLOCK_REALTIME, ctypes.byref(Timespec(*divmod(now, 10**9))))
    now = time.time_ns() // 1000
    call("settimeofday", SYS_SETTIMEOFDAY, ctypes.byref(Timeval(*divmod(now, 10**6))), None)
    current = Timex()
    libc.syscall(SYS_ADJTIMEX, ctypes.byref(current))
    call("adjtimex ADJ_TAI 37", SYS_ADJTIMEX, ctypes.byref(Timex(modes=ADJ_TAI, constant=37)))
    call("adjtimex ADJ_TAI back", SYS_ADJTIMEX, ctypes.byref(Timex(modes=ADJ_TAI, constant=current.tai)))


read_only()
if sys.argv[1] == "set":
    set_clock()
PY
"$CAPTURE_PY" "$CAPTURE_WORK/clock.py" set
date -s "@$(date +%s.%N)" >/dev/null
setpriv --reuid=65534 --regid=65534 --clear-groups "$CAPTURE_PY" "$CAPTURE_WORK/clock.py" set
setpriv --reuid=65534 --regid=65534 --clear-groups date -s "@$(date +%s.%N)"
rm -f "$CAPTURE_WORK/clock.py"
