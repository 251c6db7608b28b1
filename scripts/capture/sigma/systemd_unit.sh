#!/bin/bash
# Creating systemd unit files: a system unit /etc/systemd/system/detect-sigma-capture.service
# (a comment only; no daemon-reload, removed at once) and a user unit under a throwaway
# ~/.config/systemd/user in $CAPTURE_WORK. Matches: the creation of both files (PATH nametype
# CREATE). Near misses: appending to the system unit once it exists (nametype NORMAL), its
# removal (DELETE), creating DIR/home/.config/notes.txt.
set -u
unit=/etc/systemd/system/detect-sigma-capture.service
trap 'rm -f "$unit"' EXIT
mkdir -p "$CAPTURE_WORK/home/.config/systemd/user"
echo '# detect capture: throwaway, never loaded' >"$unit"
echo '# second line' >>"$unit"
rm "$unit"
echo '# throwaway user unit' >"$CAPTURE_WORK/home/.config/systemd/user/detect-sigma.service"
echo notes >"$CAPTURE_WORK/home/.config/notes.txt"
exit 0
