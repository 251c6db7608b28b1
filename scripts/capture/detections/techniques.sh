#!/bin/bash
# More attack procedures (Atomic Red Team's Linux tests and MITRE's procedure examples, read for
# the procedures), done harmlessly, each family with near misses from ordinary work:
# injection through /proc/PID/mem (python and dd) and process_vm_writev into a `sleep` started
# here, each writing back the bytes it read (near misses: reads, /proc/PID/oom_score_adj);
# masquerading (a copy of true named report.pdf, one whose name ends in a space, one with a
# right-to-left override, `exec -a '[kworker/0:2]'`, curl and bash copied to /tmp and
# /dev/shm); hidden files in /tmp and /dev/shm; Python startup hooks (a .pth file and
# sitecustomize.py in /usr/local's dist-packages, removed); a throwaway user added to sudo and
# adm, then su'd to, and www-data used through su and runuser (with discovery commands);
# firewall rules flushed and policies opened in a new network namespace (`unshare -n`);
# nsenter into PID 1's namespaces; core_pattern rewritten with its own value; history logging
# turned off in `bash -c`; a CA certificate written to /usr/local/share/ca-certificates
# (removed; update-ca-certificates is not run); packet and raw sockets; obfuscated shell
# commands; known_hosts deleted; an `at` job queued (and removed); a miner-like command line;
# nmap and a python loop scanning 127.0.0.1's ports. Everything made is removed at the end.
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
require "$CAPTURE_PY":python3 curl:curl openssl:openssl ssh-keygen:openssh-client ip:iproute2
require useradd:passwd usermod:passwd gpasswd:passwd userdel:passwd iptables:iptables nmap:nmap
require at:at atq:at atrm:at ps:procps
w="$CAPTURE_WORK"
h="$w/home"
sp=/usr/local/lib/python3.11/dist-packages
user=detect-sample-grp
victim=
jobs=
cleanup() {
    [ -n "$victim" ] && kill "$victim" 2>/dev/null && wait "$victim" 2>/dev/null
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf /tmp/.detect-cache /dev/shm/.detect-x /tmp/dbus-helper /dev/shm/kworker-sh \
        /tmp/detect-visible "$sp/detect_sample.pth" "$sp/sitecustomize.py" \
        "$sp/detect_sample_mod.py" /usr/local/share/ca-certificates/detect-sample.crt
    getent passwd "$user" >/dev/null && userdel "$user"
    for job in $jobs; do atrm "$job"; done
    return 0
}
trap cleanup EXIT
mkdir -p "$h/.ssh"

# --- injection: /proc/PID/mem and process_vm_writev into a sleep of ours (bytes written back)
sleep 60 &
victim=$!
"$CAPTURE_PY" - "$victim" <<'PY'
import ctypes
import sys

pid = int(sys.argv[1])
with open(f"/proc/{pid}/maps") as maps:
    line = next(m for m in maps if m.rstrip().endswith("[stack]"))
start = int(line.split("-")[0], 16) + 4096
with open(f"/proc/{pid}/mem", "rb") as mem:  # near miss: a read
    mem.seek(start)
    data = mem.read(8)
with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
    mem.seek(start)
    mem.write(data)


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(8)
local, remote = Iovec(ctypes.addressof(buf), 8), Iovec(start, 8)
for call in (libc.process_vm_readv, libc.process_vm_writev):
    call.restype = ctypes.c_ssize_t
    if call(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) != 8:
        raise SystemExit(f"process_vm call failed: errno {ctypes.get_errno()}")
PY
stack=$(grep -F '[stack]' "/proc/$victim/maps")
addr=$((16#${stack%%-*} + 4096))
dd if="/proc/$victim/mem" of="$w/word" bs=1 count=8 skip="$addr" status=none
dd if="$w/word" of="/proc/$victim/mem" bs=1 count=8 seek="$addr" conv=notrunc status=none
echo 0 >"/proc/$victim/oom_score_adj"
cat "/proc/$victim/status" >/dev/null
kill "$victim"; wait "$victim" 2>/dev/null; victim=

# --- masquerading: file type, trailing space, right-to-left override, argv[0], renamed tools
cp /usr/bin/true "$w/report.pdf"; "$w/report.pdf"
cp /usr/bin/true "$w/update.sh "; "$w/update.sh "
cp /usr/bin/true "$w/invoice_"$'\u202e'"fdp.sh"; "$w/invoice_"$'\u202e'"fdp.sh"
cp /usr/bin/true "$w/report.sh"; "$w/report.sh"
(exec -a '[kworker/0:2]' sleep 0)
(exec -a '-bash' sleep 0)
/usr/bin/[ -f /etc/hostname ]
cp /usr/bin/curl /tmp/dbus-helper; /tmp/dbus-helper --version >/dev/null
cp /usr/bin/bash /dev/shm/kworker-sh
cp /etc/hosts /tmp/hosts.bak; cp /usr/bin/curl "$w/curl-copy"
rm -f /tmp/hosts.bak

# --- hidden files in temporary folders; near misses: visible ones, dotfiles deeper down
touch /tmp/.detect-cache; mkdir /dev/shm/.detect-x; cp /usr/bin/true /dev/shm/.detect-x/t
touch /tmp/detect-visible; mkdir -p "$w/repo"; touch "$w/repo/.gitignore"

# --- Python startup hooks; near miss: an ordinary module in the same folder
echo 'import os' >"$sp/detect_sample.pth"
echo '# detect sample' >"$sp/sitecustomize.py"
echo '# detect sample' >"$sp/detect_sample_mod.py"
rm -f "$sp/detect_sample.pth" "$sp/sitecustomize.py" "$sp/detect_sample_mod.py"

# --- accounts: privileged groups, service accounts logged into (near misses: others)
useradd -M -s /bin/sh "$user"
usermod -aG sudo "$user"; gpasswd -a "$user" adm >/dev/null
usermod -aG users "$user"; usermod -c 'detect sample' "$user"
su -s /bin/sh -c true "$user"
su -s /bin/sh -c 'id; whoami; uname -a; hostname; ps -ef' www-data >/dev/null
runuser -u www-data -- id >/dev/null
runuser -u nobody -- id >/dev/null
userdel "$user"
id; whoami; uname -a; hostname >/dev/null

# --- firewall, in a network namespace of its own: flushed, policy opened; near misses: listing,
# a rule added
unshare -n bash -c 'iptables -P INPUT DROP; iptables -A INPUT -p tcp --dport 22 -j ACCEPT;
iptables -L -n >/dev/null; iptables -S >/dev/null; iptables -F; iptables -P INPUT ACCEPT; iptables -X'

# --- namespaces: nsenter into PID 1's; near miss: into our own shell's network namespace
nsenter -t 1 -m -u -i -n -p -- true
nsenter -t $$ -n -- ip link show lo >/dev/null

# --- core_pattern rewritten with its own value; near miss: a sysctl of the network namespace
pattern=$(cat /proc/sys/kernel/core_pattern)
printf '%s\n' "$pattern" >/proc/sys/kernel/core_pattern
unshare -n bash -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'

# --- history logging turned off; near misses: history variables read or set otherwise
bash -c 'unset HISTFILE; true'
env HISTFILE=/dev/null bash -c true
bash -c 'set +o history; export HISTSIZE=0; true'
bash -c 'echo "$HISTFILE" >/dev/null'
bash -c 'HISTTIMEFORMAT="%F %T "; history >/dev/null'

# --- a CA certificate written where the system's trust store is built from; near miss: work dir
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=detect-sample -days 1 \
    -keyout "$w/ca.key" -out "$w/detect-sample.crt" 2>/dev/null
cp "$w/detect-sample.crt" /usr/local/share/ca-certificates/detect-sample.crt
rm -f /usr/local/share/ca-certificates/detect-sample.crt
cp "$w/detect-sample.crt" "$w/copy.crt"

# --- sockets: packet and raw (sniffing); near misses: netlink (ip), UDP
unshare -n "$CAPTURE_PY" -c 'import socket
socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)).close()
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()'
ip link show lo >/dev/null

# --- obfuscated commands; near misses: ordinary pipes and IFS assignments
bash -c 'eval "$(echo ZWNobyBoZWxsbwo= | base64 -d)"' >/dev/null
bash -c 'echo ZWNobyBoZWxsbwo= | base64 --decode | sh' >/dev/null
bash -c 'cat${IFS}/etc/hostname' >/dev/null
bash -c "printf '\\x69\\x64\\x0a' | bash" >/dev/null
bash -c 'printf "%s\n" hello | tr a-z A-Z' >/dev/null
bash -c 'IFS=, read -r a b <<< "x,y"; echo "$a"' >/dev/null
bash -c 'echo aGVsbG8K | base64 -d >/dev/null'

# --- connection history: known_hosts deleted; near miss: one host removed with ssh-keygen -R
ssh-keygen -q -t ed25519 -N '' -f "$w/hostkey"
printf '127.0.0.1 %s\n' "$(cut -d' ' -f1,2 "$w/hostkey.pub")" >"$h/.ssh/known_hosts"
cp "$h/.ssh/known_hosts" "$h/.ssh/known_hosts2"
ssh-keygen -R 127.0.0.1 -f "$h/.ssh/known_hosts2" >/dev/null 2>&1
rm -f "$h/.ssh/known_hosts"

# --- at: a job queued and removed; near misses: the queue listed
echo true | at now + 30 minutes 2>"$w/at.out"
jobs=$(grep -o 'job [0-9]*' "$w/at.out" | grep -o '[0-9]*')
atq >/dev/null; at -l >/dev/null

# --- a miner-like command line (a copy of true); near miss: another tool with -o and -u
cp /usr/bin/true "$w/xmrig"; cp /usr/bin/true "$w/backup-tool"
"$w/xmrig" -o stratum+tcp://127.0.0.1:3333 -u detect --donate-level 1
"$w/backup-tool" -o "$w/out.tar" -u detect

# --- port scans of 127.0.0.1; near misses: a few requests to one or two local ports
port=18796
"$CAPTURE_PY" -m http.server --bind 127.0.0.1 --directory "$w" "$port" >/dev/null 2>&1 &
server=$!
curl -s --retry 10 --retry-connrefused --retry-delay 1 -o /dev/null "http://127.0.0.1:$port/"
for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port/"; done
curl -s -o /dev/null "http://127.0.0.1:$((port + 1))/"
nmap -n -sT -Pn -p 1-100 127.0.0.1 >/dev/null
"$CAPTURE_PY" -c 'import socket
for port in range(20000, 20040):
    s = socket.socket()
    s.settimeout(0.2)
    s.connect_ex(("127.0.0.1", port))
    s.close()'
kill "$server"; wait "$server" 2>/dev/null; server=
exit 0
