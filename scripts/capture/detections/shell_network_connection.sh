#!/bin/bash
# A python3 listener on a loopback port (accept, near miss) answers every connection. bash opens
# /dev/tcp/127.0.0.1/PORT (connect from the shell: the reverse-shell shape), sends a line and
# reads the answer; bash also tries /dev/tcp/127.0.0.1/9 (refused) and /dev/udp/127.0.0.1/53.
# Near misses to the same listener: curl and a python3 client; `ls` and `getent` run from the
# shell (no socket).
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
require "$CAPTURE_PY":python3 curl:curl
port_file="$CAPTURE_WORK/port"
"$CAPTURE_PY" - "$port_file" <<'PY' &
import socket
import sys

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen()
server.settimeout(20)
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(server.getsockname()[1]))
import os

os.rename(sys.argv[1] + ".tmp", sys.argv[1])
for _ in range(3):
    conn, _ = server.accept()
    conn.recv(1024)
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    conn.close()
PY
listener=$!
for _ in $(seq 50); do [ -e "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
ls "$CAPTURE_WORK" > /dev/null
getent hosts localhost > /dev/null || true
exec 3<>"/dev/tcp/127.0.0.1/$port"
echo "GET / HTTP/1.0" >&3
echo >&3
cat <&3 > /dev/null
exec 3>&-
(exec 4<>/dev/tcp/127.0.0.1/9) 2>/dev/null || true
exec 5<>/dev/udp/127.0.0.1/53
exec 5>&-
curl -s "http://127.0.0.1:$port/" > /dev/null
"$CAPTURE_PY" -c "import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.sendall(b'x'); s.recv(64)" "$port"
wait "$listener"
