#!/bin/bash
# A burst of discovery commands: root runs whoami, id, uname -a, hostname, ps, ip addr and
# whoami again within seconds. Near misses: uid 65534 (nobody) runs whoami, id and uname
# (three distinct commands only), and root runs `true`, `ls /` and `cat /etc/hostname` (not
# discovery commands of the list).
set -eu
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
ip addr > /dev/null 2>&1 || true
whoami > /dev/null
