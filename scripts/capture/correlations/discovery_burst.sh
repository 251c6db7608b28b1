#!/bin/bash
# A burst of discovery commands: root runs whoami, id, uname -a, hostname, ps, ip addr and
# whoami again within seconds. Near misses: uid 65534 (nobody) runs whoami, id and uname
# (three distinct commands only), and root runs `true`, `ls /` and `cat /etc/hostname` (not
# discovery commands of the list).
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
require ps:procps ip:iproute2
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_nobody whoami > /dev/null
as_nobody id > /dev/null
as_nobody uname > /dev/null
true
ls / > /dev/null
whoami > /dev/null
id > /dev/null
uname -a > /dev/null
cat /etc/hostname > /dev/null
hostname > /dev/null
ps -e > /dev/null
ip addr > /dev/null
whoami > /dev/null
