#!/bin/bash
# Overwriting and padding throwaway files under $CAPTURE_WORK. Matches: `dd if=/dev/zero
# of=FILE` (overwrite with zeros), `dd if=/dev/zero bs=1 count=16` appended to a copied binary
# through a redirection (no `of=`: binary padding), `truncate -s +4096 COPY`. Near misses:
# `dd if=FILE of=FILE2` (a plain copy), `ls -s COPY`, `dd --version`.
set -u
w="$CAPTURE_WORK"
head -c 8192 /dev/urandom >"$w/secret"
dd if=/dev/zero of="$w/secret" bs=4096 count=2 conv=notrunc status=none
dd if="$w/secret" of="$w/copy" status=none
cp /bin/true "$w/padded"
dd if=/dev/zero bs=1 count=16 status=none >>"$w/padded"
truncate -s +4096 "$w/padded"
ls -s "$w/padded" >/dev/null
dd --version >/dev/null
exit 0
