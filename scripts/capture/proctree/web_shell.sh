#!/bin/bash
# Shells started by web-server-like parents. (1) A real web server: `python3 -m http.server
# --cgi` on 127.0.0.1 runs a CGI script (bash, which runs `id` and `uname -a`) for a request
# made with curl; Python 3.11's CGI handler forks and execs the script. (2) A process whose
# executable is named nginx: a copy of /usr/bin/bash at $CAPTURE_WORK/srv/nginx, run as a
# parent that forks `sh -c 'id'` and `whoami`. Near miss: the same commands run by the
# scenario's own bash.
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
require python3:python3 curl:curl
W=$CAPTURE_WORK
rm -rf "$W/www" "$W/srv"
mkdir -p "$W/www/cgi-bin" "$W/srv"
printf '#!/bin/bash\necho "Content-Type: text/plain"\necho\nid\nuname -a\n' > "$W/www/cgi-bin/x.sh"
chmod 755 "$W/www/cgi-bin/x.sh"
cd "$W/www"
python3 -m http.server --cgi --bind 127.0.0.1 18931 >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18931/ && break; sleep 0.1; done
curl -s -o /dev/null http://127.0.0.1:18931/cgi-bin/x.sh
kill "$server"; wait "$server" || true
cd "$W"
cp /usr/bin/bash "$W/srv/nginx"
"$W/srv/nginx" -c 'sh -c "id"; whoami; true' >/dev/null
sh -c "id" >/dev/null
whoami >/dev/null
rm -rf "$W/www" "$W/srv"
