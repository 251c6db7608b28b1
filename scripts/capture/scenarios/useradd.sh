#!/bin/bash
# useradd then userdel of a throwaway user `detectcap` (no home directory): user-space ADD_USER,
# ADD_GROUP, DEL_USER, DEL_GROUP records (nested msg='...'), the watched writes to /etc/passwd,
# /etc/shadow and /etc/group, and the execve of both tools.
set -eu
removed=0
trap '[ $removed = 1 ] || userdel detectcap' EXIT
useradd -M -s /usr/sbin/nologin -c "detect capture" detectcap
userdel detectcap
removed=1
