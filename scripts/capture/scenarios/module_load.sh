#!/bin/bash
# Module load attempts that cannot succeed: finit_module and init_module of a file that is not a
# module, delete_module of a name that does not exist (python3 ctypes, raw syscalls). This kernel
# is built without module support (no /proc/modules), so all three fail with ENOSYS; the audit
# records are written all the same.
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
head -c 4096 /dev/zero >"$CAPTURE_WORK/not_a_module.ko"
"$CAPTURE_PY" - "$CAPTURE_WORK/not_a_module.ko" <<'PY'
import ctypes
import os
import sys

SYS_INIT_MODULE, SYS_DELETE_MODULE, SYS_FINIT_MODULE = 175, 176, 313
O_NONBLOCK = 0o4000
libc = ctypes.CDLL(None, use_errno=True)
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
print("finit_module", libc.syscall(SYS_FINIT_MODULE, fd, b"", 0), ctypes.get_errno())
os.close(fd)
image = open(path, "rb").read()
print("init_module", libc.syscall(SYS_INIT_MODULE, image, len(image), b""), ctypes.get_errno())
name = b"detect_no_such_module"
print("delete_module", libc.syscall(SYS_DELETE_MODULE, name, O_NONBLOCK), ctypes.get_errno())
PY
