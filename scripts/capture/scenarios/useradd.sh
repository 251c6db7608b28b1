#!/bin/bash
# useradd then userdel of a throwaway user `detectcap` (no home directory): user-space ADD_USER,
# ADD_GROUP, DEL_USER, DEL_GROUP records (nested msg='...'), the watched writes to /etc/passwd,
# /etc/shadow and /etc/group, and the execve of both tools.
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
require useradd:passwd userdel:passwd
removed=0
trap '[ $removed = 1 ] || userdel detectcap' EXIT
useradd -M -s /usr/sbin/nologin -c "detect capture" detectcap
userdel detectcap
removed=1
