#!/bin/bash
# Throwaway logs in /var/log/detect-sample/ cleared in the usual ways: emptied by a shell
# redirection (open with O_TRUNC), `truncate -s 0` (open then ftruncate), python3 os.truncate
# (truncate(2) by path), `shred -u`, `rm`, and `mv` away; the folder removed. Near misses: lines
# appended (`>>`) and read, and a log-like file in the work dir removed.
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
l=/var/log/detect-sample
mkdir -p "$l"
for f in auth.log syslog wtmp.log lastlog.log secure.log; do echo "sample line" >"$l/$f"; done
echo "appended" >>"$l/auth.log"
cat "$l/syslog" >/dev/null
: >"$l/auth.log"
truncate -s 0 "$l/syslog"
"$CAPTURE_PY" -c 'import os, sys; os.truncate(sys.argv[1], 0)' "$l/wtmp.log"
shred -u "$l/lastlog.log"
mv "$l/secure.log" "$CAPTURE_WORK/secure.log"
rm -f "$l/auth.log" "$l/syslog" "$l/wtmp.log"
rmdir "$l"
# near misses
echo "sample line" >"$CAPTURE_WORK/app.log"
rm -f "$CAPTURE_WORK/app.log" "$CAPTURE_WORK/secure.log"
