#!/bin/bash
# Throwaway files only, created and removed at once: /usr/local/bin/detect-sample-tool written
# (copy of /usr/bin/true), chmod 755, replaced by a rename over it and run; a throwaway PAM module
# path /usr/lib/x86_64-linux-gnu/security/pam_detect_sample.so written; /boot/vmlinuz-detect-sample
# and /boot/initrd.img-detect-sample written and one renamed over by a new copy. Near misses: the
# same writes under /usr/local/share/detect-sample, reads of /usr/local/bin and /boot files, and
# /usr/bin/true run.
set -u
cp /usr/bin/true /usr/local/bin/detect-sample-tool
chmod 755 /usr/local/bin/detect-sample-tool
cp /usr/bin/true /usr/local/bin/.detect-sample-tool.new
mv /usr/local/bin/.detect-sample-tool.new /usr/local/bin/detect-sample-tool
/usr/local/bin/detect-sample-tool
head -c 64 /dev/zero >/usr/lib/x86_64-linux-gnu/security/pam_detect_sample.so
head -c 1024 /dev/zero >/boot/vmlinuz-detect-sample
head -c 1024 /dev/zero >/boot/initrd.img-detect-sample.new
mv /boot/initrd.img-detect-sample.new /boot/initrd.img-detect-sample
# near misses
mkdir -p /usr/local/share/detect-sample
cp /usr/bin/true /usr/local/share/detect-sample/tool
chmod 755 /usr/local/share/detect-sample/tool
cat /usr/local/bin/detect-sample-tool /boot/vmlinuz-detect-sample >/dev/null
/usr/bin/true
rm -f /usr/local/bin/detect-sample-tool /usr/lib/x86_64-linux-gnu/security/pam_detect_sample.so
rm -f /boot/vmlinuz-detect-sample /boot/initrd.img-detect-sample
rm -rf /usr/local/share/detect-sample
