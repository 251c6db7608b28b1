#!/bin/bash
# End to end for the generated rules (tests/auditgen/test_e2e_kernel.py): a program run from
# /tmp, a user added and deleted (useradd and userdel write /etc/passwd), the clock set to the
# time it already has (clock_settime with the current time: it does not move), and a module load
# attempt (insmod of a file that is not a module: this kernel has no module support, so
# finit_module and init_module fail with ENOSYS, and are audited all the same).
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
require useradd:passwd userdel:passwd "$CAPTURE_PY":python3 insmod:kmod
cp /usr/bin/true "$CAPTURE_WORK/detect-e2e-true"
"$CAPTURE_WORK/detect-e2e-true"
user="detect-e2e-$$"
trap 'userdel "$user" >/dev/null 2>&1 || true' EXIT
useradd --no-create-home --shell /usr/sbin/nologin "$user"
userdel "$user"
"$CAPTURE_PY" -c 'import time; time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME))'
head -c 64 /dev/zero >"$CAPTURE_WORK/detect-e2e.ko"
# insmod must run and refuse the file: its status 1 is the expected outcome (its message is
# not shown); anything else fails the scenario (0: loaded, 127: not found).
status=0
insmod "$CAPTURE_WORK/detect-e2e.ko" 2>/dev/null || status=$?
[ "$status" = 1 ] || { echo "insmod of a non-module: status $status, expected 1" >&2; exit 1; }
