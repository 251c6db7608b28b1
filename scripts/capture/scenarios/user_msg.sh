#!/bin/bash
# User-space records with a nested msg='...': `auditctl -m` (USER), useradd/usermod/chpasswd/
# passwd/userdel of a throwaway user `detectmsg` (ADD_USER, USER_MGMT, USER_CHAUTHTOK, DEL_USER,
# ...), and PAM records from `su` and `runuser` run as root (USER_ACCT, CRED_ACQ, USER_START,
# USER_END, CRED_DISP, USER_AUTH).
set -eu
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
