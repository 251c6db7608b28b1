#!/bin/bash
# An account created and then used: `useradd -m -s /bin/sh detectcorr`, then
# `su - detectcorr -c id` runs a shell and `id` as the new uid. Near misses: `useradd
# detectcorr2` (created, never used), a process run as uid 12345 (`setpriv`, no account was
# created for it), `runuser -u nobody -- id` (a system account), then both accounts deleted.
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
cleanup() {
    id detectcorr >/dev/null 2>&1 && userdel -r detectcorr 2>/dev/null
    id detectcorr2 >/dev/null 2>&1 && userdel -r detectcorr2 2>/dev/null
    true
}
trap cleanup EXIT
useradd -m -s /bin/sh -c "detect sample" detectcorr
setpriv --reuid=12345 --regid=12345 --clear-groups id > /dev/null
runuser -u nobody -- id > /dev/null
su - detectcorr -c id > /dev/null
useradd -M -s /usr/sbin/nologin detectcorr2
