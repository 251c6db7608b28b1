#!/bin/bash
# Mount a small tmpfs on a directory made under the work dir, write into it, remount it read-only
# and unmount it (with `mount`/`umount` and once more with python3's mount(2)/umount2(2) through
# ctypes). Near misses: `mount` and `findmnt` listing mounts, `mount --version`.
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
require mount:mount umount:mount "$CAPTURE_PY":python3
dir="$CAPTURE_WORK/mnt"
mkdir "$dir"
trap 'mountpoint -q "$dir" && umount "$dir"; true' EXIT
mount > /dev/null
findmnt "$dir" > /dev/null || true
mount --version > /dev/null
mount -t tmpfs -o size=1m,mode=0700 detect-sample "$dir"
echo sample > "$dir/file"
mount -o remount,ro "$dir"
umount "$dir"
"$CAPTURE_PY" - "$dir" <<'PY'
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
target = sys.argv[1].encode()
if libc.mount(b"detect-sample", target, b"tmpfs", 0, b"size=1m") != 0:
    raise OSError(ctypes.get_errno(), "mount")
if libc.umount2(target, 0) != 0:
    raise OSError(ctypes.get_errno(), "umount2")
PY
rmdir "$dir"
