#!/bin/bash
# Special files made in the work dir: FIFOs with `mkfifo` (mknodat) and python3 os.mkfifo
# (mknodat), a character device (`mknod c 1 3`, the null device's numbers) and a block device
# (`mknod b 7 0`, a loop device's numbers), and python3 os.mknod with S_IFCHR; removed at once.
# Near miss: python3 os.mknod of a regular file (S_IFREG, like creat).
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
d=$CAPTURE_WORK
mkfifo "$d/fifo"
"$CAPTURE_PY" -c 'import os, sys; os.mkfifo(sys.argv[1])' "$d/fifo2"
mknod "$d/null-copy" c 1 3
mknod "$d/loop-copy" b 7 0
"$CAPTURE_PY" -c 'import os, stat, sys; os.mknod(sys.argv[1], 0o600 | stat.S_IFCHR, os.makedev(1, 5))' "$d/zero-copy"
# near miss
"$CAPTURE_PY" -c 'import os, stat, sys; os.mknod(sys.argv[1], 0o600 | stat.S_IFREG)' "$d/regular"
rm -f "$d/fifo" "$d/fifo2" "$d/null-copy" "$d/loop-copy" "$d/zero-copy" "$d/regular"
