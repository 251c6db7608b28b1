#!/bin/bash
# File capability, setuid-file and inode discovery, read-only. Matches: `getcap -r /` (stopped
# by `timeout` after 3 s: the exec is what is recorded), `find DIR -perm -4000 -type f`,
# `ls -id /`, `ls -R DIR`. Near misses: `getcap /usr/bin/true` (one file), `find DIR -name x`,
# `ls -l /`, `ls DIR`.
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
require getcap:libcap2-bin
mkdir -p "$CAPTURE_WORK/tree/sub"
touch "$CAPTURE_WORK/tree/sub/file"
timeout 3 getcap -r / >/dev/null 2>&1
getcap /usr/bin/true >/dev/null 2>&1
find "$CAPTURE_WORK/tree" -perm -4000 -type f >/dev/null
find "$CAPTURE_WORK/tree" -name file >/dev/null
ls -id / >/dev/null
ls -l / >/dev/null
ls -R "$CAPTURE_WORK/tree" >/dev/null
ls "$CAPTURE_WORK/tree" >/dev/null
exit 0
