#!/bin/bash
# Shells started through other programs, and base64 decoding. Every shell runs `true` or reads
# an empty stdin and exits. Matches: `sh -c 'echo true | sh'`, `sh -c 'echo dHJ1ZQo= | base64 -d
# | sh'` (and its `base64 -d`), `env /bin/sh -c true`, `nice /bin/sh`, `flock -u LOCK /bin/sh -c
# true`, `capsh --`, python3 -c with `base64.b64decode`, with `pty.spawn`, with
# `os.system("/bin/sh -c true")`. Near misses: `sh -c 'echo true | cat'`, `sh -c 'echo dHJ1ZQo=
# | base64 -d | cat'`, `base64 FILE` (encoding), `env /usr/bin/true`, `nice /usr/bin/true`,
# `flock -u LOCK /usr/bin/true`, `capsh --print`, python3 -c with `base64.b64encode`, with
# `pty.CHILD`, with `os.system("/usr/bin/true")`.
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
require capsh:libcap2-bin python3:python3
w="$CAPTURE_WORK"
echo plain >"$w/plain"
sh -c 'echo true | sh'
sh -c 'echo true | cat' >/dev/null
sh -c 'echo dHJ1ZQo= | base64 -d | sh'
sh -c 'echo dHJ1ZQo= | base64 -d | cat' >/dev/null
base64 "$w/plain" >/dev/null
env /bin/sh -c true
env /usr/bin/true
nice /bin/sh </dev/null
nice /usr/bin/true
flock -u "$w/lock" /bin/sh -c true
flock -u "$w/lock" /usr/bin/true
capsh -- </dev/null
capsh --print >/dev/null
python3 -c "import base64; base64.b64decode('dHJ1ZQ==')"
python3 -c "import base64; base64.b64encode(b'true')"
timeout 20 python3 -c 'import pty; pty.spawn("/bin/true")' </dev/null >/dev/null
python3 -c 'import pty; print(pty.CHILD)' >/dev/null
python3 -c 'import os; os.system("/bin/sh -c true")'
python3 -c 'import os; os.system("/usr/bin/true")'
exit 0
