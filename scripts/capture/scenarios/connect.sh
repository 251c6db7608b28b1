#!/bin/bash
# Loopback connections from one python3 process: TCP to 127.0.0.1 and ::1 (listeners the script
# binds on ephemeral ports), TCP to 127.0.0.1:9 (refused: nothing listens there), UDP connect to
# 127.0.0.1:53 (no packet sent), a unix socket by path, an abstract unix socket, and a bind of
# a netlink (NETLINK_ROUTE) socket.
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
"$CAPTURE_PY" - "$CAPTURE_WORK/sock" <<'PY'
import socket
import sys


def tcp(family: int, host: str) -> None:
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen()
    client = socket.socket(family, socket.SOCK_STREAM)
    client.connect(server.getsockname()[:2])
    client.close()
    server.close()


def unix(address: str | bytes) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(address)
    client.close()
    server.close()


tcp(socket.AF_INET, "127.0.0.1")
tcp(socket.AF_INET6, "::1")
refused = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    refused.connect(("127.0.0.1", 9))
except ConnectionRefusedError:
    pass
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.connect(("127.0.0.1", 53))
unix(sys.argv[1])
unix(b"\0detect-capture")
netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
netlink.bind((0, 0))
PY
