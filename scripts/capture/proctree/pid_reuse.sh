#!/bin/bash
# PID reuse: `/usr/bin/true` runs and exits; then /proc/sys/kernel/ns_last_pid is set to its
# PID minus one so that the next fork gets the same PID, and `/usr/bin/id` runs with it (tried
# until the PID matches: other processes on the machine may take it first). The log then has
# two processes with one PID, told apart by the fork and exit_group events between them.
set -eu
/usr/bin/true & first=$!; wait "$first"
for _ in $(seq 50); do
  echo $((first - 1)) > /proc/sys/kernel/ns_last_pid
  /usr/bin/id >/dev/null & second=$!; wait "$second"
  [ "$second" = "$first" ] && break
done
echo "first=$first second=$second" > "$CAPTURE_WORK/pid_reuse.txt"
