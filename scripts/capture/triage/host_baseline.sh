#!/bin/bash
# The host of host_day.sh on a quiet day, known to be clean (the baseline of `detect tune`):
# the same services and background jobs and the administrator's session, no attack.
set -eu
exec bash "$(dirname "$0")/host_day.sh" baseline
