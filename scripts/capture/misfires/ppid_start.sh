#!/bin/bash
# A process first known from a ppid, whose own first event comes later: the script (its bash
# exec not audited) runs `/bin/true first` (an exec whose ppid is the script: the tree knows the
# script only from it), then creates a file in the work folder (the script's first own event:
# now its own parent, the harness, is known only from a ppid), then runs `/bin/true second` and
# `/bin/true third`. The alerts of those execs carry the ancestry harness > script > true.
set -eu
/bin/true first
sleep 0.1
echo mark >"$CAPTURE_WORK/mark"
sleep 0.1
/bin/true second
/bin/true third
