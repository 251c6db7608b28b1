#!/bin/bash
# Writes and attribute changes of the account databases and sudoers that leave them as they were
# (python3): /etc/passwd opened for append with nothing written; /etc/group truncated to its own
# size; /etc/shadow chmod to its own mode; /etc/gshadow chown to its own owner; a user xattr set
# and removed on /etc/group; /etc/sudoers opened for append with nothing written and chmod to its
# own mode. A throwaway /etc/sudoers.d/detect-sample written, replaced by a rename over it, chmod
# 0440 and removed. Near misses: /etc/shadow, /etc/passwd and /etc/sudoers read, `getent passwd`,
# a chroot-like copy tmp/detect-capture/etc/{passwd,shadow,sudoers} written and chmod, and the
# account tools' own writes: `useradd` of a throwaway user `detectsample2` and its `userdel`.
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
require "$CAPTURE_PY":python3 useradd:passwd userdel:passwd
"$CAPTURE_PY" - <<'PY'
import os

def attempt(what, fn, *args):
    try:
        fn(*args)
        print(what, "ok")
    except OSError as exc:
        print(what, exc)

def append_nothing(path):
    with open(path, "a"):
        pass

attempt("append /etc/passwd", append_nothing, "/etc/passwd")
attempt("truncate /etc/group", os.truncate, "/etc/group", os.stat("/etc/group").st_size)
st = os.stat("/etc/shadow")
attempt("chmod /etc/shadow", os.chmod, "/etc/shadow", st.st_mode & 0o7777)
st = os.stat("/etc/gshadow")
attempt("chown /etc/gshadow", os.chown, "/etc/gshadow", st.st_uid, st.st_gid)
attempt("setxattr /etc/group", os.setxattr, "/etc/group", "user.detect-sample", b"1")
attempt("removexattr /etc/group", os.removexattr, "/etc/group", "user.detect-sample")
attempt("append /etc/sudoers", append_nothing, "/etc/sudoers")
st = os.stat("/etc/sudoers")
attempt("chmod /etc/sudoers", os.chmod, "/etc/sudoers", st.st_mode & 0o7777)
PY
echo '# detect sample: throwaway, removed at once' >/etc/sudoers.d/detect-sample
echo '# detect sample: replacement' >/etc/sudoers.d/.detect-sample.tmp
mv /etc/sudoers.d/.detect-sample.tmp /etc/sudoers.d/detect-sample
chmod 0440 /etc/sudoers.d/detect-sample
rm -f /etc/sudoers.d/detect-sample
# near misses
cat /etc/shadow /etc/passwd /etc/sudoers >/dev/null
getent passwd root >/dev/null
mkdir -p "$CAPTURE_WORK/etc"
cp /etc/passwd "$CAPTURE_WORK/etc/passwd"
echo 'root:*:20000:0:99999:7:::' >"$CAPTURE_WORK/etc/shadow"
chmod 0640 "$CAPTURE_WORK/etc/shadow"
echo '# chroot copy' >"$CAPTURE_WORK/etc/sudoers"
rm -rf "$CAPTURE_WORK/etc"
userdel detectsample2 >/dev/null 2>&1 || true
useradd --no-create-home --shell /usr/sbin/nologin detectsample2
userdel detectsample2
