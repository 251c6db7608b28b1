#!/bin/bash
# Children of suspicious parents, for SigmaHQ rules on ParentImage / ParentCommandLine. Parents
# named like servers are copies of /usr/bin/bash under $CAPTURE_WORK/srv (so their executable is
# e.g. /tmp/detect-capture/srv/java), run with `-c` scripts that fork the children. java:
# `bash -c id`, `/usr/bin/curl --version`; java with a `confluence` argument: `/usr/bin/curl -V`;
# nginx: `/usr/bin/whoami`, `/usr/bin/date`; rsync: `/bin/bash -c true`, `/usr/bin/id`; sshd
# (as root): `sh -c id`, `/usr/bin/id -g`; a real `bash -i` reading `whoami; id -u` from stdin
# (HOME is the work dir so that no .bashrc runs). Near misses under the scenario's own bash:
# `bash -c 'id -u -n'` and `sh -c 'id -g -n'`.
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
require /usr/bin/curl:curl
W=$CAPTURE_WORK
rm -rf "$W/srv"; mkdir -p "$W/srv"
for name in java nginx rsync sshd; do cp /usr/bin/bash "$W/srv/$name"; done
"$W/srv/java" -c 'bash -c id; /usr/bin/curl --version; true' >/dev/null
"$W/srv/java" -c '/usr/bin/curl -V; true' java -Dconfluence.home=/var/atlassian >/dev/null
"$W/srv/nginx" -c '/usr/bin/whoami; /usr/bin/date; true' >/dev/null
"$W/srv/rsync" -c '/bin/bash -c true; /usr/bin/id; true' >/dev/null
"$W/srv/sshd" -c 'sh -c id; /usr/bin/id -g; true' >/dev/null
echo 'whoami; id -u' | HOME="$W" bash -i >/dev/null 2>&1
bash -c 'id -u -n' >/dev/null
sh -c 'id -g -n' >/dev/null
rm -rf "$W/srv"
exit 0
