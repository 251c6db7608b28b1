#!/bin/bash
# Repeated failed reads of /etc/shadow: uid 65534 (nobody, via `setpriv --clear-groups`) runs
# `cat /etc/shadow` four times and `head /etc/shadow` once (EACCES on openat each time). Near
# misses: uid 12345 fails twice only; root reads /etc/shadow successfully; nobody fails to open
# a file that does not exist (ENOENT) and is refused /etc/gshadow once.
set -eu
as_uid() { uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
for _ in 1 2 3 4; do as_uid 65534 cat /etc/shadow > /dev/null 2>&1 || true; done
as_uid 12345 cat /etc/shadow > /dev/null 2>&1 || true
as_uid 65534 head -1 /etc/shadow > /dev/null 2>&1 || true
as_uid 12345 cat /etc/shadow > /dev/null 2>&1 || true
as_uid 65534 cat /etc/gshadow > /dev/null 2>&1 || true
as_uid 65534 cat /nonexistent-detect-sample > /dev/null 2>&1 || true
cat /etc/shadow > /dev/null
