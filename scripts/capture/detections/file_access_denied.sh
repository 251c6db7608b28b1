#!/bin/bash
# As uid/gid 65534 (nobody, via `setpriv --clear-groups`): `cat /etc/shadow` (EACCES on openat),
# `touch` of a file in a root-owned folder (EACCES on openat with O_CREAT), python3's
# truncate(2) of a root-owned file (EACCES) and an open with O_NOATIME of a root-owned file
# (EPERM), and creat(2) in a root-only folder (EACCES). Near misses: opens of missing files
# (ENOENT) by nobody and root, and the same files read successfully by root.
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
work="$CAPTURE_WORK"
chmod 755 "$work"
echo sample > "$work/root-owned"
chmod 644 "$work/root-owned"
mkdir -m 700 "$work/root-only"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_nobody cat /etc/shadow > /dev/null 2>&1 || true
as_nobody touch "$work/new-file" 2>/dev/null || true
as_nobody "$CAPTURE_PY" - "$work" <<'PY' || true
import ctypes
import os
import sys

work = sys.argv[1]
for call in (
    lambda: os.truncate(f"{work}/root-owned", 0),
    lambda: os.open(f"{work}/root-owned", os.O_RDONLY | os.O_NOATIME),
    lambda: os.open(f"{work}/does-not-exist", os.O_RDONLY),
):
    try:
        call()
    except OSError as exc:
        print(exc, file=sys.stderr)
libc = ctypes.CDLL(None, use_errno=True)
if libc.creat(f"{work}/root-only/new".encode(), 0o644) < 0:
    print(os.strerror(ctypes.get_errno()), file=sys.stderr)
PY
cat "$work/does-not-exist" 2>/dev/null || true
cat /etc/shadow > /dev/null
