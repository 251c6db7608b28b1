#!/bin/bash
# User-space records with a nested msg='...': `auditctl -m` (USER), useradd/usermod/chpasswd/
# passwd/userdel of a throwaway user `detectmsg` (ADD_USER, USER_MGMT, USER_CHAUTHTOK, DEL_USER,
# ...), and PAM records from `su` and `runuser` run as root (USER_ACCT, CRED_ACQ, USER_START,
# USER_END, CRED_DISP, USER_AUTH).
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
require auditctl:auditd useradd:passwd usermod:passwd chpasswd:passwd passwd:passwd userdel:passwd
removed=0
trap '[ $removed = 1 ] || userdel detectmsg' EXIT
auditctl -m "capture says: it's a \"test\" key=value"
useradd -M -s /bin/sh detectmsg
usermod -c "renamed user" detectmsg
echo 'detectmsg:Capture-Pass-1' | chpasswd
passwd -l detectmsg >/dev/null
su -s /bin/true detectmsg
runuser -u detectmsg -- /bin/true
userdel detectmsg
removed=1
