#!/bin/bash
# Host and domain name changes inside a private UTS and mount namespace (`unshare --uts --mount`),
# so the machine's own names and /etc/hostname never change: `hostname NAME`, `domainname NAME`,
# python3's sethostname(2) through ctypes, and a write to /etc/hostname after a private bind
# mount of a throwaway file over it. `hostnamectl set-hostname` is run only where no system bus
# exists (it then fails before doing anything). Near misses: `hostname`, `hostname -s`,
# `domainname` and `uname -n` printing the names, `cat /etc/hostname`.
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
require "$CAPTURE_PY":python3 hostnamectl:systemd mount:mount umount:mount
before=$(hostname)
trap '[ "$(hostname)" = "$before" ] || echo "hostname changed!" >&2' EXIT
cp /etc/hostname "$CAPTURE_WORK/hostname.copy"
unshare --uts --mount --propagation private /bin/bash -eu -s "$CAPTURE_WORK" "$CAPTURE_PY" <<'SH'
work=$1
py=$2
hostname
hostname -s
domainname
uname -n
cat /etc/hostname
hostname detect-sample
domainname detect-sample.test
"$py" -c 'import ctypes; n = b"detect-sample-py"; assert ctypes.CDLL(None).sethostname(n, len(n)) == 0'
if [ ! -S /run/dbus/system_bus_socket ]; then
    hostnamectl set-hostname detect-sample-ctl || true
fi
mount --bind "$work/hostname.copy" /etc/hostname
echo detect-sample > /etc/hostname
umount /etc/hostname
SH
[ "$(hostname)" = "$before" ]
