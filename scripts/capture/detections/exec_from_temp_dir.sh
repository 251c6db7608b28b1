#!/bin/bash
# A copy of /usr/bin/true dropped in /tmp, /var/tmp and /dev/shm, made executable (`chmod +x`,
# `chmod 755`, `chmod u+x`) and run from there; a shell script in /tmp made executable and run by
# its path (the kernel runs its interpreter). Near misses: `chmod 644` of a file in /tmp, `chmod +x`
# of a file outside the temp dirs (the work dir's copy under /usr/local/share), /usr/bin/true run
# with /tmp as current directory, and a script in /tmp read by `sh` (not executed by path).
set -u
d=$CAPTURE_WORK
cp /usr/bin/true "$d/payload"
chmod +x "$d/payload"
"$d/payload"
cp /usr/bin/true /var/tmp/detect-sample-payload
chmod 755 /var/tmp/detect-sample-payload
/var/tmp/detect-sample-payload
cp /usr/bin/true /dev/shm/detect-sample-payload
chmod u+x /dev/shm/detect-sample-payload
/dev/shm/detect-sample-payload
printf '#!/bin/sh\nexit 0\n' >"$d/dropper.sh"
chmod a+x "$d/dropper.sh"
"$d/dropper.sh"
# near misses
printf 'notes\n' >"$d/notes.txt"
chmod 644 "$d/notes.txt"
mkdir -p /usr/local/share/detect-sample
cp /usr/bin/true /usr/local/share/detect-sample/tool
chmod +x /usr/local/share/detect-sample/tool
(cd /tmp && /usr/bin/true)
sh "$d/dropper.sh"
rm -f "$d/payload" /var/tmp/detect-sample-payload /dev/shm/detect-sample-payload "$d/dropper.sh" "$d/notes.txt"
rm -rf /usr/local/share/detect-sample
