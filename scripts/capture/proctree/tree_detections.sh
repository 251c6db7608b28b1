#!/bin/bash
# Activity for the shipped process-tree detections. (1) A web server runs a shell that runs a
# download tool: `python3 -m http.server --cgi` on 127.0.0.1 runs the CGI script x.sh (bash,
# as nobody) which runs `/usr/bin/curl --version` and `/usr/bin/id`. (2) An interpreter spawned
# by a service account: bash run as www-data (uid 33, via setpriv) runs `python3 -c pass` and
# `perl -e 1`, and `/usr/bin/id`. (3) A download tool below an SSH session: there is no sshd
# here, so a copy of /usr/bin/bash at $CAPTURE_WORK/srv/sshd stands for the session's sshd; it
# runs bash, which runs `/usr/bin/curl --version` and `/usr/bin/wget --version`. Near misses:
# the same tools, interpreters and shells run by the scenario's own bash as root.
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
require python3:python3 curl:curl wget:wget
W=$CAPTURE_WORK
rm -rf "$W/www" "$W/srv"
mkdir -p "$W/www/cgi-bin" "$W/srv"
printf '#!/bin/bash\necho "Content-Type: text/plain"\necho\n/usr/bin/curl --version\n/usr/bin/id\n' > "$W/www/cgi-bin/x.sh"
chmod 755 "$W/www/cgi-bin/x.sh"
cd "$W/www"
python3 -m http.server --cgi --bind 127.0.0.1 18932 >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18932/ && break; sleep 0.1; done
curl -s -o /dev/null http://127.0.0.1:18932/cgi-bin/x.sh
kill "$server"; wait "$server"
cd "$W"
setpriv --reuid=33 --regid=33 --clear-groups /bin/bash -c 'python3 -c pass; perl -e 1; /usr/bin/id; true' >/dev/null
cp /usr/bin/bash "$W/srv/sshd"
"$W/srv/sshd" -c '/bin/bash -c "/usr/bin/curl --version; /usr/bin/wget --version; true"; true' >/dev/null
/bin/bash -c 'python3 -c pass; /usr/bin/curl --version; /usr/bin/wget --version; true' >/dev/null
rm -rf "$W/www" "$W/srv"
exit 0
