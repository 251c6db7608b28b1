#!/bin/bash
# The audit tools and files touched without changing the audit state: `auditctl -l` and
# `auditctl -s` (read the kernel's rules and status); rule deletions that delete nothing:
# `auditctl -D -k` with a key no rule has, `auditctl -d` and `auditctl -W` of rules that do not
# exist (both refused); `augenrules --check`, `ausearch` and
# `aureport` over an empty log in the work dir, `auditd --help`-like usage (`auditd -h`); a
# throwaway /etc/audit/rules.d/detect-sample.rules written and removed, a throwaway
# /var/log/audit/detect-sample.log written and removed, /etc/libaudit.conf opened for append with
# nothing written. Near misses: /etc/audit/auditd.conf read, `ausyscall --dump` (prints the
# syscall table), and an audit.rules copy written in the work dir.
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
require auditctl:auditd augenrules:auditd ausearch:auditd aureport:auditd auditd:auditd
require ausyscall:auditd "$CAPTURE_PY":python3
auditctl -l >/dev/null
auditctl -s >/dev/null
auditctl -D -k detect_sample_no_such_key
auditctl -d always,exit -F arch=b64 -S mknodat -F path=/detect-sample-none -k detect_sample_none
auditctl -W /detect-sample-none -p wa -k detect_sample_none
augenrules --check
: >"$CAPTURE_WORK/empty.log"
ausearch -if "$CAPTURE_WORK/empty.log" >/dev/null
aureport -if "$CAPTURE_WORK/empty.log" >/dev/null
auditd -h >/dev/null 2>&1
echo '# detect sample: throwaway, removed at once' >/etc/audit/rules.d/detect-sample.rules
rm -f /etc/audit/rules.d/detect-sample.rules
echo 'sample' >/var/log/audit/detect-sample.log
rm -f /var/log/audit/detect-sample.log
"$CAPTURE_PY" -c 'open("/etc/libaudit.conf", "a").close()'
# near misses
cat /etc/audit/auditd.conf >/dev/null
ausyscall --dump >/dev/null
mkdir -p "$CAPTURE_WORK/audit"
echo '-w /etc/passwd -p wa' >"$CAPTURE_WORK/audit/audit.rules"
rm -rf "$CAPTURE_WORK/audit" "$CAPTURE_WORK/empty.log"
