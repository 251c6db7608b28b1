#!/bin/bash
# The audit pipeline impaired from a login session: the kernel's audit settings changed with
# auditctl (rate limit set, failure mode silent, auditing disabled and enabled again, the
# backlog limit and wait time lowered, the lost-record counter reset), each put back to what it
# was (the put-backs are near misses, as are a watch added and removed, and `auditctl -s`/`-l`
# which change nothing); a signal sent to a `sleep` and `kill -0` to auditd (near misses);
# last, auditd itself stopped with SIGTERM (capture.py's private auditd: the capture ends with
# it, and the harness restores the kernel as always; the script waits for auditd to exit). Captured with --keep-audit-changes: the
# CONFIG_CHANGE and DAEMON_* events of the scenario are kept.
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
require auditctl:auditd
while read -r key value; do
    [ "$key" = pid ] && daemon=$value
    [ "$key" = rate_limit ] && rate=$value
    [ "$key" = failure ] && failure=$value
    [ "$key" = backlog_limit ] && backlog=$value
    [ "$key" = backlog_wait_time ] && wait_time=$value
done < <(auditctl -s)
restore() {
    auditctl -e 1 -r "$rate" -f "$failure" -b "$backlog" --backlog_wait_time "$wait_time" >/dev/null
}
trap restore EXIT
auditctl -s >/dev/null; auditctl -l >/dev/null
auditctl -w "$CAPTURE_WORK/watched" -p wa -k cap_sample >/dev/null
auditctl -W "$CAPTURE_WORK/watched" -p wa -k cap_sample >/dev/null
auditctl -r 50 >/dev/null; auditctl -r "$rate" >/dev/null
auditctl -f 0 >/dev/null; auditctl -f "$failure" >/dev/null
auditctl -e 0 >/dev/null; auditctl -e 1 >/dev/null
auditctl -b 64 >/dev/null; auditctl -b "$backlog" >/dev/null
auditctl --backlog_wait_time 0 >/dev/null
auditctl --backlog_wait_time "$wait_time" >/dev/null
auditctl --reset-lost >/dev/null
sleep 30 &
kill -TERM $!
wait $! 2>/dev/null
kill -0 "$daemon"
trap - EXIT
restore
sleep 0.5
kill -TERM "$daemon"
# Wait until auditd has exited (a zombie of the harness, which reaps it): the harness stops an
# auditd still running with a SIGTERM of its own, and auditd's DAEMON_END would name that one.
for _ in $(seq 100); do
    read -r _ _ state _ <"/proc/$daemon/stat" && [ "$state" != Z ] || break
    sleep 0.1
done
exit 0
