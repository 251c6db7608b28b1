#!/bin/bash
# Exec after exec in one process: bash runs `exec /usr/bin/env /usr/bin/id`, so one process
# runs bash, then env, then id (three images, one PID). Its parent is the scenario's bash,
# whose own parent (the capture harness) started before the log began.
set -eu
/bin/bash -c 'exec /usr/bin/env /usr/bin/id' >/dev/null
true
