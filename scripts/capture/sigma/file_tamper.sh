#!/bin/bash
# Permission, attribute and timestamp changes on throwaway files under $CAPTURE_WORK (removed by
# the harness). Matches: `chattr -i FILE`, `chmod 777 FILE`, `chmod u+s FILE`,
# `sh -c 'chown root FILE; chmod u+s FILE'`, `cp /bin/sh DIR/crond`, `cp /bin/sh DIR/mysh`,
# `touch -t 202001010000 FILE`, `setcap cap_setuid+ep COPY`. Near misses: `chattr +i FILE`,
# `lsattr FILE`, `chmod 644 FILE`, `sh -c 'chown root FILE; chmod 644 FILE'`, `cp /bin/true
# DIR/crond2`, `touch FILE`, `setcap cap_net_raw+ep COPY`, `stat FILE`.
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
require chattr:e2fsprogs lsattr:e2fsprogs setcap:libcap2-bin
w="$CAPTURE_WORK"
echo data >"$w/target"
chattr +i "$w/target"
lsattr "$w/target" >/dev/null
chattr -i "$w/target"
chmod 644 "$w/target"
chmod 777 "$w/target"
chmod u+s "$w/target"
sh -c "chown root $w/target; chmod 644 $w/target"
sh -c "chown root $w/target; chmod u+s $w/target"
cp /bin/sh "$w/crond"
cp /bin/sh "$w/mysh"
cp /bin/true "$w/crond2"
touch "$w/target"
touch -t 202001010000 "$w/target"
stat "$w/target" >/dev/null
cp /bin/true "$w/captrue"
setcap cap_net_raw+ep "$w/captrue"
setcap cap_setuid+ep "$w/captrue"
setcap -r "$w/captrue"
exit 0
