#!/bin/bash
# Ordinary admin and developer work on this machine, compressed in time: HOURS (6) "hours", each
# in a login session of its own (the subshell writes /proc/self/loginuid: a new audit session,
# as a login gives) and opened by the marker `/bin/true detect-benign-hour N` (the corpus test
# maps audit time to hours by these). Each hour: package queries (dpkg-query, apt-cache), a C
# program built with make and gcc and run, git (init once; edit, diff, add, commit, log,
# status, a branch), a backup of /etc/default and the project with tar (gzip, then listed and
# extracted in the work folder ~/detect-benign, removed at the end), a cron-like job (a
# rotation script: find -mmin, gzip, truncation of a log in the work folder), curl to a local
# service (python3 -m http.server on 127.0.0.1, started and stopped each hour), monitoring (ps, top -bn1, df, free, uptime, ss,
# ip addr, journalctl -n, systemctl status, du, lsof), editing with vim in batch mode and sed -i,
# python3 and sqlite3 one-liners, cp -a of a folder. Once: user and group administration the
# normal way (groupadd, useradd -m, usermod -aG, passwd -l, chage -l, id, getent, userdel -r,
# groupdel) of a throwaway account `detectbenign`, removed at the end.
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
require gcc:gcc make:make git:git curl:curl python3:python3 vim:vim sqlite3:sqlite3
require lsof:lsof ss:iproute2 ip:iproute2 apt-cache:apt ps:procps top:procps free:procps
require uptime:procps journalctl:systemd systemctl:systemd groupadd:passwd useradd:passwd
require usermod:passwd passwd:passwd chage:passwd userdel:passwd groupdel:passwd
HOURS="${HOURS:-6}"
w="$HOME/detect-benign"  # a developer's work is in their home, not in /tmp
port=18790
cleanup() {
    set +e
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    getent passwd detectbenign >/dev/null && userdel -r detectbenign 2>/dev/null
    getent group detectbenign-ops >/dev/null && groupdel detectbenign-ops
    rm -rf "$w"
    return 0
}
trap cleanup EXIT
rm -rf "$w"
export GIT_AUTHOR_NAME=dev GIT_AUTHOR_EMAIL=dev@example.invalid
export GIT_COMMITTER_NAME=dev GIT_COMMITTER_EMAIL=dev@example.invalid
mkdir -p "$w/proj/src" "$w/backups" "$w/logs" "$w/site" "$w/mirror"
cat >"$w/proj/src/main.c" <<'C'
#include <stdio.h>
int main(void) { printf("hello %d\n", 1); return 0; }
C
printf 'hello: src/main.c\n\tgcc -O2 -Wall -o hello src/main.c\nclean:\n\trm -f hello\n' \
    >"$w/proj/Makefile"
echo '<h1>status ok</h1>' >"$w/site/index.html"
git -C "$w/proj" init -q -b main
git -C "$w/proj" add -A
git -C "$w/proj" commit -q -m 'initial import'

packages() {
    dpkg-query -W -f '${Package} ${Version}\n' coreutils bash >/dev/null
    dpkg -l | head -20 >/dev/null
    apt-cache policy bash >/dev/null 2>&1
    apt-cache show coreutils >/dev/null 2>&1
}
build() {
    make -s -C "$w/proj" clean
    make -s -C "$w/proj" hello
    "$w/proj/hello" >/dev/null
}
gitwork() {
    echo "// change $1" >>"$w/proj/src/main.c"
    git -C "$w/proj" diff --stat >/dev/null
    git -C "$w/proj" add src/main.c
    git -C "$w/proj" commit -q -m "change $1"
    git -C "$w/proj" log --oneline -5 >/dev/null
    git -C "$w/proj" status --short >/dev/null
    git -C "$w/proj" branch -f "topic-$1" >/dev/null
}
backup() {
    tar -czf "$w/backups/etc-default-$1.tar.gz" -C /etc default 2>/dev/null
    tar -czf "$w/backups/proj-$1.tar.gz" -C "$w" proj
    tar -tzf "$w/backups/proj-$1.tar.gz" >/dev/null
    mkdir -p "$w/restore-$1" && tar -xzf "$w/backups/proj-$1.tar.gz" -C "$w/restore-$1"
    rm -rf "$w/restore-$1"
}
rotate_job() {
    date >>"$w/logs/app.log"
    cp "$w/logs/app.log" "$w/logs/app.log.$1"
    gzip -f "$w/logs/app.log.$1"
    find "$w/logs" -name '*.gz' -mmin +600 -delete
    : >"$w/logs/app.log"
}
local_service() {
    python3 -m http.server --bind 127.0.0.1 --directory "$w/site" "$port" >/dev/null 2>&1 &
    server=$!
    curl -s --retry 10 --retry-connrefused --retry-delay 1 -o /dev/null "http://127.0.0.1:$port/"
    curl -s "http://127.0.0.1:$port/index.html" | grep -q ok
    kill "$server"; wait "$server" 2>/dev/null || true; server=
}
monitoring() {
    ps aux >/dev/null
    top -bn1 | head -5 >/dev/null
    df -h >/dev/null
    free -m >/dev/null
    uptime >/dev/null
    ss -tln >/dev/null
    ip addr show lo >/dev/null
    journalctl -n 5 --no-pager >/dev/null 2>&1 || true
    systemctl status --no-pager >/dev/null 2>&1 || true
    du -sh "$w" >/dev/null
    lsof -p $$ >/dev/null 2>&1 || true
}
editing() {
    vim -Es -c '%s/hello/hello,/' -c 'wq' "$w/proj/src/main.c"
    sed -i 's/hello,/hello/' "$w/proj/src/main.c"
    python3 -c 'import json; print(json.dumps({"ok": True}))' >/dev/null
    sqlite3 "$w/inventory.db" 'create table if not exists hosts(name text);
        insert into hosts values("web1"); select count(*) from hosts;' >/dev/null
    cp -a "$w/proj/." "$w/mirror/"
}
accounts() {
    groupadd detectbenign-ops
    useradd -m -s /bin/bash -c 'benign corpus' detectbenign
    usermod -aG detectbenign-ops detectbenign
    passwd -l detectbenign >/dev/null
    chage -l detectbenign >/dev/null
    id detectbenign >/dev/null
    getent group detectbenign-ops >/dev/null
    userdel -r detectbenign 2>/dev/null
    groupdel detectbenign-ops
}

for hour in $(seq 1 "$HOURS"); do
    (
        echo 4242 >/proc/self/loginuid
        /bin/true detect-benign-hour "$hour"
        packages
        build
        gitwork "$hour"
        backup "$hour"
        rotate_job "$hour"
        local_service
        monitoring
        editing
        [ "$hour" = 2 ] && accounts
        sleep 1
    )
done
exit 0
