#!/bin/bash
# Module loads and unloads that cannot succeed (this kernel has no module support: the syscalls
# fail with ENOSYS, their audit records are written all the same): `insmod` of a file that is not
# a module (finit_module), `modprobe` and `modprobe -r` of a name that does not exist, `rmmod`,
# raw init_module and delete_module from python3 ctypes. Near misses: `lsmod` and `modinfo`
# (kmod's read-only commands, same executable /usr/bin/kmod).
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
require insmod:kmod modprobe:kmod rmmod:kmod lsmod:kmod modinfo:kmod "$CAPTURE_PY":python3
head -c 4096 /dev/zero >"$CAPTURE_WORK/not_a_module.ko"
insmod "$CAPTURE_WORK/not_a_module.ko"
modprobe detect_no_such_module
modprobe -r detect_no_such_module
rmmod detect_no_such_module
"$CAPTURE_PY" - "$CAPTURE_WORK/not_a_module.ko" <<'PY'
import ctypes
import sys

SYS_INIT_MODULE, SYS_DELETE_MODULE = 175, 176
O_NONBLOCK = 0o4000
libc = ctypes.CDLL(None, use_errno=True)
image = open(sys.argv[1], "rb").read()
print("init_module", libc.syscall(SYS_INIT_MODULE, image, len(image), b""), ctypes.get_errno())
print("delete_module", libc.syscall(SYS_DELETE_MODULE, b"detect_no_such_module", O_NONBLOCK), ctypes.get_errno())
PY
# near misses
lsmod
modinfo "$CAPTURE_WORK/not_a_module.ko"
rm -f "$CAPTURE_WORK/not_a_module.ko"
