#!/bin/bash
# AppArmor and SELinux policy changes on a kernel with neither LSM (no MAC_* records; the tools
# fail after the exec): a throwaway profile /etc/apparmor.d/detect-sample written, loaded with
# `apparmor_parser -r`, compiled only with `apparmor_parser -Q -K`, removed with
# `apparmor_parser -R` and deleted; a throwaway /etc/selinux/detect-sample.conf written and deleted.
# Near misses: `aa-status` (read-only), a profile read (`cat`), and a profile
# written to a copy in the work dir.
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
require apparmor_parser:apparmor aa-status:apparmor
cat >/etc/apparmor.d/detect-sample <<'PROFILE'
# detect sample: throwaway profile, removed at once
profile detect-sample /usr/local/bin/detect-sample-none {
}
PROFILE
apparmor_parser -r /etc/apparmor.d/detect-sample
apparmor_parser -Q -K /etc/apparmor.d/detect-sample
apparmor_parser -R /etc/apparmor.d/detect-sample
rm -f /etc/apparmor.d/detect-sample
echo '# detect sample: throwaway' >/etc/selinux/detect-sample.conf
rm -f /etc/selinux/detect-sample.conf
# near misses
aa-status
cat /etc/apparmor.d/usr.bin.man >/dev/null
mkdir -p "$CAPTURE_WORK/apparmor.d"
cp /etc/apparmor.d/usr.bin.man "$CAPTURE_WORK/apparmor.d/usr.bin.man"
rm -rf "$CAPTURE_WORK/apparmor.d"
