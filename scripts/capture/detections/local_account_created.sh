#!/bin/bash
# Create, change and delete a throwaway group `detectgrp` and user `detectusr` with the shadow
# tools: groupadd, useradd -m, usermod, groupmod -n, gpasswd -a, chpasswd, passwd (set, lock,
# unlock), chage, then userdel -r and groupdel. Near misses: read-only look-ups (`id`,
# `getent passwd`, `passwd -S`, `chage -l`, `groups`).
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
require groupadd:passwd useradd:passwd usermod:passwd groupmod:passwd gpasswd:passwd
require chpasswd:passwd passwd:passwd chage:passwd userdel:passwd groupdel:passwd
cleanup() {
    id detectusr >/dev/null 2>&1 && userdel -r detectusr 2>/dev/null
    getent group detectgrp2 >/dev/null && groupdel detectgrp2
    getent group detectgrp >/dev/null && groupdel detectgrp
    true
}
trap cleanup EXIT
groupadd detectgrp
useradd -m -s /usr/sbin/nologin -c "detect sample" detectusr
id detectusr
getent passwd detectusr
usermod -c "detect sample changed" -s /bin/sh detectusr
groupmod -n detectgrp2 detectgrp
gpasswd -a detectusr detectgrp2
groups detectusr
echo 'detectusr:Throwaway-Sample-1' | chpasswd
printf 'Throwaway-Sample-2\nThrowaway-Sample-2\n' | passwd detectusr
passwd -S detectusr
passwd -l detectusr
passwd -u detectusr
chage -l detectusr
chage -M 90 detectusr
userdel -r detectusr
groupdel detectgrp2
