#!/bin/bash
# Four shell loops in parallel, each 12 rounds of an execve (/bin/cat) that opens a file in the
# work dir and a redirect that creates one, so that many events finish close together on the
# machine's CPUs.
set -eu
d=$CAPTURE_WORK
for n in 1 2 3 4; do
  echo "$n" >"$d/in$n"
  (for i in $(seq 1 12); do /bin/cat "$d/in$n" >"$d/out$n.$i"; done) &
done
wait
