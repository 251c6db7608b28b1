#!/bin/bash
# Throwaway keys, read, then removed: an ed25519 user key /root/.ssh/id_detect_sample (read by
# `cat`, by `cp` and by `ssh-keygen -y`), a host key /etc/ssh/ssh_host_detectsample_key (read by
# `cat`), and an RSA key /etc/ssl/private/detect-sample.key plus a PEM certificate bundle
# /etc/ssl/private/detect-sample.pem (read by `openssl` and `cat`). Near misses: reading the
# `.pub` halves, listing the folders, writing the keys (ssh-keygen, openssl genpkey), and
# ssh-keygen reading a key it is asked to fingerprint.
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
require ssh-keygen:openssh-client openssl:openssl
made_ssh_dir=0
cleanup() {
    rm -f /root/.ssh/id_detect_sample /root/.ssh/id_detect_sample.pub
    rm -f /etc/ssh/ssh_host_detectsample_key /etc/ssh/ssh_host_detectsample_key.pub
    rm -f /etc/ssl/private/detect-sample.key /etc/ssl/private/detect-sample.pem
    if [ $made_ssh_dir = 1 ]; then rmdir /root/.ssh; fi
}
trap cleanup EXIT
if [ ! -d /root/.ssh ]; then
    mkdir -m 700 /root/.ssh
    made_ssh_dir=1
fi
ssh-keygen -q -t ed25519 -N '' -C detect-sample -f /root/.ssh/id_detect_sample
ssh-keygen -q -t ed25519 -N '' -C detect-sample -f /etc/ssh/ssh_host_detectsample_key
openssl genpkey -algorithm ed25519 -out /etc/ssl/private/detect-sample.key 2>/dev/null
cat /etc/ssl/private/detect-sample.key > /etc/ssl/private/detect-sample.pem
ls -la /root/.ssh /etc/ssh /etc/ssl/private > /dev/null
cat /root/.ssh/id_detect_sample.pub > /dev/null
cat /etc/ssh/ssh_host_detectsample_key.pub > /dev/null
cat /root/.ssh/id_detect_sample > /dev/null
cp /root/.ssh/id_detect_sample "$CAPTURE_WORK/copied"
ssh-keygen -y -f /root/.ssh/id_detect_sample > /dev/null
ssh-keygen -l -f /root/.ssh/id_detect_sample.pub > /dev/null
cat /etc/ssh/ssh_host_detectsample_key > /dev/null
openssl pkey -in /etc/ssl/private/detect-sample.key -noout
(cd /etc/ssl/private && cat detect-sample.pem > /dev/null)
