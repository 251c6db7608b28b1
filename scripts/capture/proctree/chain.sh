#!/bin/bash
# A chain of six levels: scripts l1.sh .. l5.sh each run the next with bash (and then `true`,
# so that bash forks rather than execs), and l5.sh runs `id`: scenario bash -> l1 -> l2 -> l3 ->
# l4 -> l5 -> id.
set -eu
W=$CAPTURE_WORK
rm -rf "$W/chain"; mkdir -p "$W/chain"
for i in 1 2 3 4; do printf '/bin/bash %s/l%d.sh\ntrue\n' "$W/chain" $((i + 1)) > "$W/chain/l$i.sh"; done
printf '/usr/bin/id >/dev/null\ntrue\n' > "$W/chain/l5.sh"
/bin/bash "$W/chain/l1.sh"
rm -rf "$W/chain"
