#!/bin/bash
# A benign workload for the noise comparison (tests/auditgen/test_noise_kernel.py): package
# simulation, compiling a small C file, reading and searching under /usr, git in a small
# repository, byte-compiling Python, editing files in the work folder. Nothing an enabled
# detection should alert on.
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
require apt-get:apt gcc:gcc git:git "$CAPTURE_PY":python3
cd "$CAPTURE_WORK"
apt-get --simulate --quiet --quiet upgrade >/dev/null 2>&1 || true
printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' >hello.c
gcc -O1 -o hello hello.c
ls -l /usr/share/doc >/dev/null
grep -rl "GNU" /usr/share/common-licenses >/dev/null || true
cat /usr/share/common-licenses/* >/dev/null 2>&1 || true
mkdir -p pkg && for i in 1 2 3; do printf 'X = %s\n' "$i" >"pkg/m$i.py"; done
"$CAPTURE_PY" -m compileall -q pkg
git init -q repo && cd repo
printf 'a\n' >a.txt && git add a.txt
git -c user.name=detect -c user.email=detect@example.invalid commit -q -m one
git status --short >/dev/null
cd ..
for i in 1 2 3 4 5; do printf 'line %s\n' "$i" >>notes.txt; sed -i "s/line $i/LINE $i/" notes.txt; done
cp notes.txt notes.bak && mv notes.bak notes.old && rm notes.old
