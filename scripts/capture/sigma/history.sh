#!/bin/bash
# Reading and deleting a shell history file (a throwaway home under $CAPTURE_WORK). Matches:
# `cat HOME/.bash_history`, `tail HOME/.zsh_history`, `rm HOME/.bash_history`. Near misses:
# `cat HOME/.bashrc`, `rm HOME/notes.txt`, `wc -l HOME/.profile`.
set -u
h="$CAPTURE_WORK/home"
mkdir -p "$h"
printf 'ls\nwhoami\n' >"$h/.bash_history"
printf ': 1:0;ls\n' >"$h/.zsh_history"
printf 'alias ll="ls -l"\n' >"$h/.bashrc"
printf 'umask 022\n' >"$h/.profile"
echo notes >"$h/notes.txt"
cat "$h/.bash_history" >/dev/null
tail "$h/.zsh_history" >/dev/null
cat "$h/.bashrc" >/dev/null
wc -l "$h/.profile" >/dev/null
rm "$h/.bash_history"
rm "$h/notes.txt"
exit 0
