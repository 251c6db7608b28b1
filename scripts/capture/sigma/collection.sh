#!/bin/bash
# Archiving, searching for credentials and hiding an archive in an image, on throwaway files
# under $CAPTURE_WORK. Matches: `tar -czf OUT.tgz -C DIR data`, `gzip -k FILE`,
# `grep -r password DIR`, `cat PIC.jpg SECRET.zip` (into a new .jpg),
# `unzip HIDDEN.jpg -d DIR`. Near misses: `tar -tzf OUT.tgz` (listing), `gzip -t FILE.gz`,
# `grep -r username DIR`, `cat PIC.jpg NOTE.txt`, `unzip SECRET.zip -d DIR`.
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
require zip:zip unzip:unzip
w="$CAPTURE_WORK"
mkdir -p "$w/data"
printf 'username=alice\npassword=hunter2\n' >"$w/data/app.conf"
printf '\xff\xd8\xff\xe0fake jpeg\n' >"$w/pic.jpg"
echo note >"$w/note.txt"
tar -czf "$w/out.tgz" -C "$w" data
tar -tzf "$w/out.tgz" >/dev/null
gzip -k "$w/data/app.conf"
gzip -t "$w/data/app.conf.gz"
grep -r password "$w/data" >/dev/null
grep -r username "$w/data" >/dev/null
(cd "$w" && zip -q secret.zip data/app.conf)
cat "$w/pic.jpg" "$w/secret.zip" >"$w/hidden.jpg"
cat "$w/pic.jpg" "$w/note.txt" >"$w/other.jpg"
unzip "$w/hidden.jpg" -d "$w/unz1" >/dev/null 2>&1
unzip "$w/secret.zip" -d "$w/unz2" >/dev/null
exit 0
