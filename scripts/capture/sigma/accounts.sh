#!/bin/bash
# A throwaway user and group (created and deleted), and programs run as www-data. Matches:
# `useradd -M -N detectsigma` (ADD_USER, exe useradd), `groupdel detectsigmag`, `/usr/bin/true`
# run with euid 33 (www-data, through setpriv). Near misses: `userdel detectsigma` (DEL_USER),
# `groupadd detectsigmag`, `/usr/bin/true` run with euid 34 (backup).
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
require useradd:passwd userdel:passwd groupadd:passwd groupdel:passwd
user_made=0 group_made=0
cleanup() {
    if [ $user_made = 1 ]; then userdel detectsigma; fi
    if [ $group_made = 1 ]; then groupdel detectsigmag; fi
}
trap cleanup EXIT
useradd -M -N -s /usr/sbin/nologin -c "detect sigma capture" detectsigma && user_made=1
userdel detectsigma && user_made=0
groupadd detectsigmag && group_made=1
groupdel detectsigmag && group_made=0
setpriv --reuid=33 --regid=33 --clear-groups /usr/bin/true
setpriv --reuid=34 --regid=34 --clear-groups /usr/bin/true
exit 0
