#!/bin/bash
# Attack procedures from public catalogues (Atomic Red Team's Linux tests, read for the
# procedures), done harmlessly on throwaway files, each with near misses from ordinary work.
# Discovery: accounts, groups, connections, services, neighbours, time, password policy,
# language, virtualization, software, processes, network configuration, browser files; then
# shell history read and cleared, files shredded, data decoded, hidden files in /tmp and
# /dev/shm, a program run from a memfd (no file on disk), a copy of sleep named sshd, a compile
# in /tmp, shell startup files, an init script, udev rules, PAM, message-of-the-day and APT hooks
# and an XDG autostart entry written (and removed), archives with passwords, files uploaded
# over HTTP to a loopback server, SSH tunnels to 127.0.0.1 (no server: refused), a loop device
# (on a file in the work folder) overwritten with dd and wipefs, and services stopped with
# systemctl (no systemd here: it refuses). Everything made is removed at the end.
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
require "$CAPTURE_PY":python3 python3:python3 curl:curl wget:wget zip:zip gpg:gpg openssl:openssl ssh:openssh-client
require losetup:mount xxd:xxd gcc:gcc sqlite3:sqlite3 netstat:net-tools arp:net-tools lsof:lsof
require gpgconf:gpgconf ip:iproute2 chage:passwd ps:procps pgrep:procps hwclock:util-linux-extra
require systemctl:systemd timedatectl:systemd localectl:systemd systemd-detect-virt:systemd
w="$CAPTURE_WORK"
h="$w/home"
export GNUPGHOME="$w/gnupg"  # gpg's keyring and agent in the work folder, the agent stopped at the end
made=""
loop=
cleanup() {
    [ -n "$loop" ] && losetup -d "$loop"
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -f "$w/bashrc.orig" ] && cp -p "$w/bashrc.orig" /root/.bashrc
    rm -rf /etc/profile.d/detect-sample.sh /etc/init.d/detect-sample \
        /etc/update-motd.d/99-detect-sample /etc/apt/apt.conf.d/99detect-sample \
        /etc/pam.d/detect-sample /tmp/.detect-hidden /dev/shm/.detect-hidden \
        /tmp/detect-visible /root/detect-build /etc/xdg/autostart/detect-sample.desktop
    gpgconf --homedir "$w/gnupg" --kill gpg-agent 2>/dev/null
    for d in $made; do rm -rf "$d"; done
    return 0
}
trap cleanup EXIT
mkdir -p "$h"
for d in /etc/udev /etc/xdg/autostart; do
    [ -e "$d" ] || made="$made $d"
done

# --- discovery (each block: what matches, then near misses)
getent passwd >/dev/null; cat /etc/passwd >/dev/null; lastlog >/dev/null
getent hosts localhost >/dev/null
getent group >/dev/null; cat /etc/group >/dev/null
getent services ssh >/dev/null
netstat -tan >/dev/null; lsof -i -n -P >/dev/null
lsof -p $$ >/dev/null
systemctl list-units --type=service >/dev/null 2>&1; systemctl list-unit-files >/dev/null 2>&1
systemctl --version >/dev/null
arp -an >/dev/null; ip neigh show >/dev/null; cat /etc/hosts >/dev/null
ip addr show lo >/dev/null
timedatectl status >/dev/null 2>&1; hwclock --show >/dev/null 2>&1
date +%s >/dev/null
chage -l root >/dev/null; grep -E '^PASS_(MAX|MIN)' /etc/login.defs >/dev/null
cat /etc/hostname >/dev/null
locale >/dev/null; localectl status >/dev/null 2>&1
systemd-detect-virt >/dev/null 2>&1; cat /sys/class/dmi/id/product_name >/dev/null 2>&1
grep -c hypervisor /proc/cpuinfo >/dev/null
uname -r >/dev/null
dpkg -l >/dev/null; dpkg-query -W -f '${Package}\n' >/dev/null
dpkg --print-architecture >/dev/null
ps -ef >/dev/null; pgrep -a bash >/dev/null
nproc >/dev/null
ip route show >/dev/null; cat /etc/resolv.conf >/dev/null; hostname -I >/dev/null
getent ahosts localhost >/dev/null
mkdir -p "$h/.mozilla/firefox/x.default"
sqlite3 "$h/.mozilla/firefox/x.default/places.sqlite" 'create table moz_places(url text);'
find "$h" -name places.sqlite >/dev/null
find "$h" -name '*.txt' >/dev/null

# --- credential access through files
printf 'ls\nmysql -u root -psecret\n' >"$h/.bash_history"
printf 'alias ll="ls -l"\n' >"$h/.bashrc"
cat "$h/.bash_history" >/dev/null; grep -i -- -p "$h/.bash_history" >/dev/null
cat "$h/.bashrc" >/dev/null
sleep 30 &
victim=$!
cat "/proc/$victim/environ" >/dev/null; grep -a PATH "/proc/$victim/environ" >/dev/null
cat "/proc/$victim/maps" >/dev/null
cat "/proc/$victim/status" >/dev/null; cat /proc/cpuinfo >/dev/null
kill "$victim"; wait "$victim" 2>/dev/null

# --- stealth: history, deletion, decoding, hidden files, fileless, masquerading, compiling
printf 'x\n' >"$h/.zsh_history"; printf 'x\n' >"$h/.python_history"; printf 'x\n' >"$h/notes.txt"
ln -sf /dev/null "$h/.bash_history"
rm -f "$h/.zsh_history"
truncate -s 0 "$h/.python_history"
rm -f "$h/notes.txt"
printf 'secret\n' >"$w/secret.txt"; printf 'other\n' >"$w/other.txt"
shred -u "$w/secret.txt"
shred -n 1 "$w/other.txt"
echo 'ZWNobyBoZWxsbwo=' | base64 -d >/dev/null
echo 68656c6c6f | xxd -r -p >/dev/null
echo 'aGVsbG8K' | openssl base64 -d >/dev/null
base64 "$w/other.txt" >/dev/null; xxd "$w/other.txt" >/dev/null
touch /tmp/.detect-hidden; mkdir /dev/shm/.detect-hidden
touch /tmp/detect-visible
"$CAPTURE_PY" - <<'PY'
import os

fd = os.memfd_create("detect-sample", 0)
with open("/usr/bin/true", "rb") as program:
    os.write(fd, program.read())
pid = os.fork()
if pid == 0:
    os.execv(f"/proc/self/fd/{fd}", ["detect-sample"])
os.waitpid(pid, 0)
PY
mkdir -p "$w/sbin" "$w/bin"
cp /usr/bin/sleep "$w/sbin/sshd"; cp /usr/bin/sleep "$w/sbin/kworker"; cp /usr/bin/sleep "$w/bin/mytool"
"$w/sbin/sshd" 0; "$w/sbin/kworker" 0
"$w/bin/mytool" 0
printf 'int main(void){return 0;}\n' >"$w/x.c"
gcc -o "$w/x" "$w/x.c"
mkdir -p /root/detect-build && cp "$w/x.c" /root/detect-build/
(cd /root/detect-build && gcc -o x x.c)

# --- persistence files (each removed at the end); near misses: the same files in the work dir
cp -p /root/.bashrc "$w/bashrc.orig" 2>/dev/null
echo '# detect sample' >>/root/.bashrc
echo '# detect sample' >/etc/profile.d/detect-sample.sh
printf '#!/bin/sh\nexit 0\n' >/etc/init.d/detect-sample
mkdir -p /etc/udev/rules.d && echo '# detect sample' >/etc/udev/rules.d/99-detect-sample.rules
echo '# detect sample' >/etc/pam.d/detect-sample
printf '#!/bin/sh\nexit 0\n' >/etc/update-motd.d/99-detect-sample
echo '// detect sample' >/etc/apt/apt.conf.d/99detect-sample
mkdir -p /etc/xdg/autostart && printf '[Desktop Entry]\nType=Application\nExec=/bin/true\n' >/etc/xdg/autostart/detect-sample.desktop
mkdir -p "$w/etc"
for f in profile pam.d-sample 99-detect-sample.rules 99detect-sample detect-sample.desktop; do
    echo '# near miss' >"$w/etc/$f"
done

# --- collection and exfiltration: archives with passwords, uploads over HTTP
zip -q -P secret "$w/a.zip" "$w/other.txt"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --yes --quiet --pinentry-mode loopback --passphrase secret -c -o "$w/o.gpg" "$w/other.txt"
openssl enc -aes-256-cbc -pbkdf2 -k secret -in "$w/other.txt" -out "$w/o.enc"
zip -q "$w/b.zip" "$w/other.txt"; tar -czf "$w/b.tgz" -C "$w" other.txt
port=18795
python3 -m http.server --bind 127.0.0.1 --directory "$w" "$port" >/dev/null 2>&1 &
server=$!
curl -s --retry 10 --retry-connrefused --retry-delay 1 -o /dev/null "http://127.0.0.1:$port/"
curl -s -o /dev/null -T "$w/other.txt" "http://127.0.0.1:$port/"
curl -s -o /dev/null -F "f=@$w/other.txt" "http://127.0.0.1:$port/"
wget -q -O /dev/null --post-file="$w/other.txt" "http://127.0.0.1:$port/"
curl -s -o /dev/null "http://127.0.0.1:$port/other.txt"
kill "$server"; wait "$server" 2>/dev/null; server=

# --- command and control: SSH tunnels (refused: nothing listens on 22)
o=(-o BatchMode=yes -o ConnectTimeout=1 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
ssh -N "${o[@]}" -D 127.0.0.1:19999 nobody@127.0.0.1 2>/dev/null
ssh -N "${o[@]}" -R 19998:127.0.0.1:80 nobody@127.0.0.1 2>/dev/null
ssh -N "${o[@]}" -L 19997:127.0.0.1:80 nobody@127.0.0.1 2>/dev/null
ssh -V 2>/dev/null; ssh "${o[@]}" nobody@127.0.0.1 true 2>/dev/null

# --- impact: a loop device on a file overwritten; services stopped (systemctl refuses here)
dd if=/dev/zero of="$w/disk.img" bs=1M count=8 status=none
loop=$(losetup -f --show "$w/disk.img")
dd if=/dev/zero of="$loop" bs=1M count=1 status=none
wipefs -a "$loop" >/dev/null
wipefs "$w/disk.img" >/dev/null
losetup -d "$loop"; loop=
systemctl stop detect-sample.service 2>/dev/null
systemctl stop auditd.service 2>/dev/null
systemctl status auditd.service >/dev/null 2>&1
systemctl restart detect-sample.service 2>/dev/null
exit 0
