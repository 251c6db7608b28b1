#!/bin/bash
# The shapes behind three misfires of issue 21, done the ordinary way. (1) A shell that becomes
# a web server: `bash -c 'cd DIR && exec python3 -m http.server ...'` (the shell execs the
# server, same pid), fetched once with curl, stopped by its pid; then a real shell below a web
# server for contrast: the same server with --cgi running a shell CGI script fetched with curl.
# (2) Two login sessions of the same login uid (each subshell writes its own
# /proc/self/loginuid, which starts a new audit session): one writes a file in /etc/cron.d, the
# other a unit in /etc/systemd/system; then a third session writes both. Files removed at the
# end. (3) Processes whose parents are known only from a ppid (the script's own parent) and
# grandchildren forked below them: the ancestry's start times.
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
w="$CAPTURE_WORK"
cleanup() {
    set +e
    rm -f /etc/cron.d/detect-misfire-a /etc/cron.d/detect-misfire-c
    rm -f /etc/systemd/system/detect-misfire-b.service /etc/systemd/system/detect-misfire-c.service
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null
    [ -n "${cgi:-}" ] && kill "$cgi" 2>/dev/null
    wait 2>/dev/null
}
trap cleanup EXIT
wait_port() {
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# (1) the shell that becomes the server
mkdir -p "$w/site" "$w/cgi/cgi-bin"
echo hello >"$w/site/index.html"
bash -c "cd '$w/site' && exec python3 -m http.server --bind 127.0.0.1 18767" >/dev/null 2>&1 &
server=$!
wait_port 18767
curl -s -o /dev/null http://127.0.0.1:18767/index.html
kill "$server"; wait "$server" 2>/dev/null || true; server=
printf '#!/bin/bash\necho Content-Type: text/plain\necho\nid\n' >"$w/cgi/cgi-bin/who.sh"
chmod 755 "$w/cgi/cgi-bin/who.sh"
(cd "$w/cgi" && exec python3 -m http.server --cgi --bind 127.0.0.1 18768) >/dev/null 2>&1 &
cgi=$!
wait_port 18768
curl -s -o /dev/null http://127.0.0.1:18768/cgi-bin/who.sh
kill "$cgi"; wait "$cgi" 2>/dev/null || true; cgi=

# (2) two sessions of one login uid, then one session doing both
unit='[Unit]\nDescription=detect misfire sample\n[Service]\nExecStart=/bin/true\n'
(echo 4242 >/proc/self/loginuid && printf '* * * * * root true\n' >/etc/cron.d/detect-misfire-a)
(echo 4242 >/proc/self/loginuid && printf "$unit" >/etc/systemd/system/detect-misfire-b.service)
(
    echo 4242 >/proc/self/loginuid
    printf '* * * * * root true\n' >/etc/cron.d/detect-misfire-c
    printf "$unit" >/etc/systemd/system/detect-misfire-c.service
)

# (3) a grandchild below a subshell below the script
(bash -c 'sleep 0.2; /bin/true grandchild')
exit 0
