#!/bin/bash
# Programs run from /tmp and from hidden directories (copies of /bin/true under $CAPTURE_WORK,
# which is /tmp/detect-capture). Matches: `mkdir DIR/.hidden`, `DIR/.hidden/run` (exe in /tmp, a
# PATH name with `/.`), `DIR/run`. Near misses: `mkdir DIR/visible`, `DIR/.cache/run` (hidden
# but a cache folder), `DIR/usr/bin/nextcloud` (in /tmp but a known exception), `/usr/bin/true`.
set -u
w="$CAPTURE_WORK"
mkdir "$w/visible"
mkdir "$w/.hidden"
mkdir -p "$w/.cache" "$w/usr/bin"
cp /bin/true "$w/.hidden/run"
cp /bin/true "$w/.cache/run"
cp /bin/true "$w/run"
cp /bin/true "$w/usr/bin/nextcloud"
"$w/.hidden/run"
"$w/.cache/run"
"$w/run"
"$w/usr/bin/nextcloud"
/usr/bin/true
exit 0
