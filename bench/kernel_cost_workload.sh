#!/bin/bash
# The fixed syscall-heavy workload of bench/kernel_cost.py, in the folder $1: file opens and
# writes, execs, loopback TCP connects, a compile. Same work every run.
set -eu
cd "$1"
for i in $(seq 1 300); do printf 'line %s\n' "$i" >"f$i.txt"; cat "f$i.txt" >/dev/null; done
for i in $(seq 1 300); do /bin/true; done
python3 - <<'PY'
import socket
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
port = server.getsockname()[1]
for _ in range(300):
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()
    client.close()
for n in range(300):
    with open(f"py{n}.txt", "w") as out:
        out.write("x" * 100)
PY
printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' >hello.c
for i in 1 2 3; do gcc -O1 -o "hello$i" hello.c; done
ls -lR /usr/share/doc >/dev/null 2>&1 || true
