#!/bin/bash
# A throwaway user `detecthome` with a home (useradd -m); the user writes notes.txt and
# .ssh/known_hosts in it (as that uid through setpriv). Then root reads them (`cat`, `tar` of the
# folder, `head` by a relative name from inside the folder). Near misses: the user reading their
# own files, root listing the folder, root reading a root-owned file it put in that home. The
# user and home are removed at the end.
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
trap 'id detecthome >/dev/null 2>&1 && userdel -r detecthome 2>/dev/null; true' EXIT
useradd -m -s /usr/sbin/nologin detecthome
home=/home/detecthome
as_user() { setpriv --reuid=detecthome --regid=detecthome --init-groups "$@"; }
as_user sh -c "echo private > $home/notes.txt; mkdir -m 700 $home/.ssh; echo 'host key' > $home/.ssh/known_hosts"
as_user cat "$home/notes.txt" > /dev/null
echo root > "$home/root-note.txt"
ls -la "$home" > /dev/null
cat "$home/root-note.txt" > /dev/null
cat "$home/notes.txt" > /dev/null
tar -cf "$CAPTURE_WORK/home.tar" -C /home detecthome
(cd "$home/.ssh" && head -1 known_hosts > /dev/null)
userdel -r detecthome
