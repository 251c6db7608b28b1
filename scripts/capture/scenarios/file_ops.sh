#!/bin/bash
# File operations in /tmp/detect-capture (the harness's work dir): create and write, append, read,
# rename, chmod, mkdir, hard and symbolic links, unlink, rmdir; file names with a space and with
# bytes that are not UTF-8 (hex-encoded PATH names).
set -eu
d=$CAPTURE_WORK
echo data >"$d/created.txt"
echo more >>"$d/created.txt"
cat "$d/created.txt" >/dev/null
mv "$d/created.txt" "$d/renamed.txt"
chmod 600 "$d/renamed.txt"
mkdir "$d/sub"
ln "$d/renamed.txt" "$d/sub/hardlink"
ln -s "$d/renamed.txt" "$d/symlink"
echo x >"$d/with space.txt"
echo x >"$d/"$'\xe9t\xe9.txt'
rm "$d/renamed.txt" "$d/sub/hardlink" "$d/symlink" "$d/with space.txt" "$d/"$'\xe9t\xe9.txt'
rmdir "$d/sub"
