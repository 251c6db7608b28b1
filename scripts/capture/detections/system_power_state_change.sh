#!/bin/bash
# Power-state requests that cannot take effect. reboot(2) with a wrong first magic number
# (EINVAL before anything is looked at), kexec_load(2) with an unknown flag bit and too many
# segments (EINVAL), kexec_file_load(2) with an unknown flag and no files (EINVAL), all from
# python3 through ctypes; `reboot --help` and `shutdown --help` (systemctl in its halt and
# shutdown personalities prints the help and exits; checked beforehand under
# `strace -e inject=reboot:error=EPERM`: no reboot call). Near misses: `systemctl --version`,
# `systemctl --help`, `uptime`.
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
require "$CAPTURE_PY":python3 /usr/sbin/reboot:systemd-sysv /usr/sbin/shutdown:systemd-sysv
require systemctl:systemd uptime:procps
# reboot and shutdown are run with --help below: only where they are systemctl (systemd-sysv)
for tool in /usr/sbin/reboot /usr/sbin/shutdown; do
    [ "$tool" -ef /usr/bin/systemctl ] && continue
    echo "$tool is not systemctl (Debian package systemd-sysv)" >&2
    exit 1
done
"$CAPTURE_PY" - <<'PY'
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_REBOOT, SYS_KEXEC_LOAD, SYS_KEXEC_FILE_LOAD = 169, 246, 320
calls = {
    # magic1 must be 0xfee1dead: 0 is rejected with EINVAL whatever the command.
    "reboot": (SYS_REBOOT, 0, 0, 0, 0),
    # nr_segments 1000 > KEXEC_SEGMENT_MAX and flag bit 0x80 unknown: EINVAL (never 0 segments,
    # which would mean "unload").
    "kexec_load": (SYS_KEXEC_LOAD, 0, 1000, 0, 0x80),
    # flag 0x80000000 unknown (KEXEC_FILE_UNLOAD, 0x1, is not set): EINVAL.
    "kexec_file_load": (SYS_KEXEC_FILE_LOAD, -1, -1, 0, 0, 0x80000000),
}
for name, args in calls.items():
    result = libc.syscall(*(ctypes.c_long(a) for a in args))
    assert result == -1, (name, result)
    print(name, os.strerror(ctypes.get_errno()), file=sys.stderr)
PY
/usr/sbin/reboot --help > /dev/null
/usr/sbin/shutdown --help > /dev/null
systemctl --version > /dev/null
systemctl --help > /dev/null
uptime > /dev/null
