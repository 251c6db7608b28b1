#!/bin/bash
# Logins through a pseudo-terminal (python3 pty) to a throwaway local user `detectsample` created
# with uid 4242 (so its sessions keep the capture's login uid) and removed at the end: `su` run by
# uid 65534 with a wrong then the right password; `login` (as getty would run it, as root) with a
# wrong then the right password, then `exit`. Near miss: `su` from root (pam_rootok, no password).
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
require useradd:passwd chpasswd:passwd userdel:passwd "$CAPTURE_PY":python3
userdel -r detectsample >/dev/null 2>&1 || true
useradd --uid 4242 --create-home --shell /bin/bash detectsample
echo 'detectsample:Sample-Passw0rd' | chpasswd
cat >"$CAPTURE_WORK/drive.py" <<'PY'
import os
import pty
import select
import sys
import time


def drive(argv, script, timeout=20.0):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = b""
    steps = list(script)
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if steps and steps[0][0] in out.lower():
            want, send = steps.pop(0)
            out = b""
            time.sleep(0.2)
            os.write(fd, send)
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    os.close(fd)


mode = sys.argv[1]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
if mode == "su":
    drive(NOBODY + ["su", "detectsample", "-c", "true"], [(b"password", b"wrong-password\n")], 10)
    drive(NOBODY + ["su", "detectsample", "-c", "true"], [(b"password", b"Sample-Passw0rd\n")], 10)
    drive(["su", "detectsample", "-c", "true"], [], 5)
elif mode == "login":
    drive(["login", "detectsample"], [(b"password", b"wrong-password\n"), (b"login:", b"detectsample\n"),
                                      (b"password", b"Sample-Passw0rd\n"), (b"$ ", b"exit\n")], 25)
PY
"$CAPTURE_PY" "$CAPTURE_WORK/drive.py" su
"$CAPTURE_PY" "$CAPTURE_WORK/drive.py" login
rm -f "$CAPTURE_WORK/drive.py"
userdel -r detectsample >/dev/null 2>&1
