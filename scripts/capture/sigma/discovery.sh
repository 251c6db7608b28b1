#!/bin/bash
# System, user and password-policy discovery, read-only. Matches: `getconf _PHYS_PAGES`
# (sysinfo(2)), `uname -a`, `whoami`, `id`, `groups`, `cat` of /etc/issue, /etc/os-release,
# /proc/version, /etc/login.defs, /etc/sysctl.conf, /etc/passwd and /etc/group,
# `passwd -S root`. Near misses: `getconf PAGESIZE` (no sysinfo), `date`, `cat` of
# /etc/hostname, /etc/host.conf and /proc/sys/kernel/hostname, `passwd --help`. LC_ALL=C so
# that cat opens no locale files.
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
require passwd:passwd
export LC_ALL=C
getconf _PHYS_PAGES >/dev/null
getconf PAGESIZE >/dev/null
uname -a >/dev/null
whoami >/dev/null
id >/dev/null
groups >/dev/null
date >/dev/null
cat /etc/issue >/dev/null
cat /etc/os-release >/dev/null
cat /etc/login.defs >/dev/null
cat /proc/version >/dev/null
cat /etc/sysctl.conf >/dev/null
cat /etc/host.conf >/dev/null
cat /etc/passwd >/dev/null
cat /etc/group >/dev/null
cat /etc/hostname >/dev/null
cat /proc/sys/kernel/hostname >/dev/null
passwd -S root >/dev/null
passwd --help >/dev/null
exit 0
