#!/bin/bash
# Loopback only. A Python web server on 127.0.0.1 (stopped by its pid at the end) and a file
# uploaded to it with wget. Matches: `python3 -m http.server`, `wget --post-file=FILE URL`.
# Near misses: `python3 -m json.tool`, `wget -q -O /dev/null URL` (a download).
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
require python3:python3 wget:wget
w="$CAPTURE_WORK"
echo 'user=alice' >"$w/loot.txt"
port=18765
python3 -m http.server --bind 127.0.0.1 --directory "$w" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
echo '{"a": 1}' | python3 -m json.tool >/dev/null
wget --post-file="$w/loot.txt" -q -O /dev/null "http://127.0.0.1:$port/" 2>/dev/null
wget -q -O /dev/null "http://127.0.0.1:$port/loot.txt"
exit 0
