#!/bin/bash
# Throwaway persistence files, removed at the end: a line appended to /etc/crontab (restored
# from a copy; made and removed when absent, as here where cron is not installed), a file in /etc/cron.d and in /etc/cron.daily, a user crontab written the way
# `crontab -e` does (a temporary file in /var/spool/cron/crontabs renamed to the user's name);
# a systemd service in /etc/systemd/system enabled with `systemctl enable` (symlink in
# multi-user.target.wants) and disabled, a unit in /usr/lib/systemd/system, a user unit in
# ~/.config/systemd/user. Near misses: `systemctl is-enabled`, `systemctl cat`,
# `systemctl list-unit-files`, and writing a .service file and a crontab-like file in the work
# dir (reads are not recorded: the watches are `-p wa`).
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
require systemctl:systemd
work="$CAPTURE_WORK"
unit=detect-sample.service
made_spool=0
made_config_systemd=0
had_crontab=0
if [ -e /etc/crontab ]; then
    cp -p /etc/crontab "$work/crontab.orig"
    had_crontab=1
fi
cleanup() {
    set +e
    if [ $had_crontab = 1 ]; then cp -p "$work/crontab.orig" /etc/crontab; else rm -f /etc/crontab; fi
    rm -f /etc/cron.d/detect-sample /etc/cron.daily/detect-sample
    systemctl disable "$unit" >/dev/null 2>&1 || true
    rm -f "/etc/systemd/system/$unit" "/usr/lib/systemd/system/detect-sample-vendor.service"
    rm -f /root/.config/systemd/user/detect-sample-user.service
    if [ $made_config_systemd = 1 ]; then rm -rf /root/.config/systemd; fi
    if [ $made_spool = 1 ]; then rm -rf /var/spool/cron; else rm -f /var/spool/cron/crontabs/root; fi
}
trap cleanup EXIT
if [ ! -d /var/spool/cron ]; then
    mkdir -p -m 755 /var/spool/cron/crontabs
    made_spool=1
fi
if [ ! -d /root/.config/systemd ]; then made_config_systemd=1; fi

cat /etc/crontab > /dev/null 2>&1 || true
echo '# detect sample' >> /etc/crontab
cat /etc/crontab > /dev/null
printf '# detect sample\n* * * * * root true\n' > /etc/cron.d/detect-sample
printf '#!/bin/sh\ntrue\n' > /etc/cron.daily/detect-sample
chmod 755 /etc/cron.daily/detect-sample
tmp=/var/spool/cron/crontabs/tmp.detect
printf '# detect sample\n*/5 * * * * true\n' > "$tmp"
mv "$tmp" /var/spool/cron/crontabs/root
printf '* * * * * true\n' > "$work/crontab"

printf '[Unit]\nDescription=detect sample\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' > "$work/$unit"
cp "$work/$unit" "/etc/systemd/system/$unit"
cat "/etc/systemd/system/$unit" > /dev/null
systemctl enable "$unit" || true
systemctl is-enabled "$unit" || true
systemctl cat "$unit" > /dev/null || true
systemctl list-unit-files --no-pager > /dev/null || true
systemctl disable "$unit" || true
cp "$work/$unit" /usr/lib/systemd/system/detect-sample-vendor.service
mkdir -p /root/.config/systemd/user
cp "$work/$unit" /root/.config/systemd/user/detect-sample-user.service
