#!/bin/bash
# With log_format = ENRICHED (interpreted fields after a 0x1D separator): an execve with spaced
# and non-UTF-8 arguments, file create/rename/chmod/unlink in the work dir, and loopback connects
# (127.0.0.1, ::1, a refused port, a unix socket path).
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
require "$CAPTURE_PY":python3
d=$CAPTURE_WORK
/bin/echo enriched "two words" $'\xff' >/dev/null
echo data >"$d/e.txt"
mv "$d/e.txt" "$d/f.txt"
chmod 640 "$d/f.txt"
rm "$d/f.txt"
"$CAPTURE_PY" - "$d/sock" <<'PY'
import socket
import sys

for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen()
    client = socket.socket(family, socket.SOCK_STREAM)
    client.connect(server.getsockname()[:2])
try:
    socket.create_connection(("127.0.0.1", 9))
except ConnectionRefusedError:
    pass
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen()
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(sys.argv[1])
PY
