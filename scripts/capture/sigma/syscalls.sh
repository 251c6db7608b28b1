#!/bin/bash
# Syscall-level activity, harmless by construction. Matches: mknod(2) called directly (python3
# ctypes: a FIFO under $CAPTURE_WORK), `mkfifo /tmp/detect-capture/fifo`, syslog(2) with
# SYSLOG_ACTION_READ_CLEAR (4) and a NULL buffer, so the kernel returns EINVAL and clears nothing,
# `setarch x86_64 -R true` (personality(ADDR_NO_RANDOMIZE) for that process only),
# `insmod DIR/absent.ko` (the file does not exist: nothing is loaded), `split -b 512 FILE`.
# Near misses: `mkfifo /run/detect-sigma-fifo` (mknodat(2), not under /tmp; removed at once),
# syslog(2) with SYSLOG_ACTION_SIZE_BUFFER (10), `setarch x86_64 true`, `lsmod`,
# `csplit FILE 3`.
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
require python3:python3 insmod:kmod lsmod:kmod
w="$CAPTURE_WORK"
trap 'rm -f /run/detect-sigma-fifo' EXIT
seq 1 200 >"$w/lines"
python3 -c "import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); sys.exit(libc.syscall(133, b'$w/rawfifo', 0o10644, 0) != 0)"
mkfifo /tmp/detect-capture/fifo
mkfifo /run/detect-sigma-fifo
rm -f /run/detect-sigma-fifo
python3 -c "import ctypes; libc = ctypes.CDLL(None, use_errno=True); libc.syscall(103, 4, None, -1)"
python3 -c "import ctypes; libc = ctypes.CDLL(None, use_errno=True); libc.syscall(103, 10, None, 0)"
setarch x86_64 -R true
setarch x86_64 true
insmod "$w/absent.ko" 2>/dev/null
lsmod >/dev/null
split -b 512 "$w/lines" "$w/part."
csplit -s "$w/lines" 3 -f "$w/cs."
exit 0
