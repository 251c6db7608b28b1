#!/bin/bash
# End to end for the generated rules (tests/auditgen/test_e2e_kernel.py): a program run from
# /tmp, a user added and deleted (useradd and userdel write /etc/passwd), the clock set to the
# time it already has (clock_settime with the current time: it does not move), and a module load
# attempt (insmod of a file that is not a module: this kernel has no module support, so
# finit_module and init_module fail with ENOSYS, and are audited all the same).
set -eu
cp /usr/bin/true "$CAPTURE_WORK/detect-e2e-true"
"$CAPTURE_WORK/detect-e2e-true"
user="detect-e2e-$$"
trap 'userdel "$user" >/dev/null 2>&1 || true' EXIT
useradd --no-create-home --shell /usr/sbin/nologin "$user"
userdel "$user"
"$CAPTURE_PY" -c 'import time; time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME))'
head -c 64 /dev/zero >"$CAPTURE_WORK/detect-e2e.ko"
insmod "$CAPTURE_WORK/detect-e2e.ko" 2>/dev/null && exit 1 || true
