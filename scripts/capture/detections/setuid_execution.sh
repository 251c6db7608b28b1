#!/bin/bash
# Programs run with and without set-user-ID and set-group-ID bits, by root (the capture's login
# uid 4242 makes root's commands those of a logged-in user) and by uid 65534 (setpriv): root runs
# `passwd -S root`, `sudo -u root /usr/bin/true` and /usr/bin/id; uid 65534 runs `passwd -S`
# (set-user-ID root: euid 0), a copy of /usr/bin/id made set-user-ID root (mode 4755) and one made
# set-group-ID root (mode 2755) in the work dir, and plain /usr/bin/true and /usr/bin/id (near
# misses for both rules: no set-ID bit, euid 65534).
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
require /usr/bin/passwd:passwd sudo:sudo
d=$CAPTURE_WORK
cp /usr/bin/id "$d/suid-id" && chmod 4755 "$d/suid-id"
cp /usr/bin/id "$d/sgid-id" && chmod 2755 "$d/sgid-id"
chmod 755 "$d"
/usr/bin/passwd -S root
sudo -u root /usr/bin/true
/usr/bin/id
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${NOBODY[@]}" /usr/bin/passwd -S
"${NOBODY[@]}" "$d/suid-id"
"${NOBODY[@]}" "$d/sgid-id"
"${NOBODY[@]}" /usr/bin/true
"${NOBODY[@]}" /usr/bin/id
rm -f "$d/suid-id" "$d/sgid-id"
