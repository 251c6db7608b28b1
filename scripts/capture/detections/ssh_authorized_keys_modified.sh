#!/bin/bash
# A throwaway user `detectssh` with a home: root creates ~/.ssh/authorized_keys with a throwaway
# public key (`>` redirection), appends a second key (`>>`), chmod/chown it, replaces it through a
# temporary file renamed over it (as editors and config tools do), the user writes
# authorized_keys2, and `touch` changes its times. Near misses: writes of ~/.ssh/known_hosts and
# ~/.ssh/config, and a copy of the key named authorized_keys.pub in the work dir. The user and
# home are removed at the end.
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
require ssh-keygen:openssh-client useradd:passwd userdel:passwd
trap 'id detectssh >/dev/null 2>&1 && userdel -r detectssh 2>/dev/null; true' EXIT
ssh-keygen -q -t ed25519 -N '' -C detect-sample -f "$CAPTURE_WORK/key"
key=$(cat "$CAPTURE_WORK/key.pub")
useradd -m -s /usr/sbin/nologin detectssh
ssh=/home/detectssh/.ssh
mkdir -m 700 "$ssh"
chown detectssh:detectssh "$ssh"
echo "$key" > "$ssh/authorized_keys"
echo "$key" >> "$ssh/authorized_keys"
chmod 600 "$ssh/authorized_keys"
chown detectssh:detectssh "$ssh/authorized_keys"
echo "$key" > "$ssh/authorized_keys.tmp"
mv "$ssh/authorized_keys.tmp" "$ssh/authorized_keys"
setpriv --reuid=detectssh --regid=detectssh --init-groups sh -c "echo '$key' > $ssh/authorized_keys2"
touch "$ssh/authorized_keys"
echo 'localhost ssh-ed25519 AAAA' > "$ssh/known_hosts"
echo 'Host *' > "$ssh/config"
cp "$CAPTURE_WORK/key.pub" "$CAPTURE_WORK/authorized_keys.pub"
userdel -r detectssh
