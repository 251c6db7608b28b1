#!/bin/bash
# execve with awkward arguments: an ordinary command line; one argument of 20000 bytes (the kernel
# splits arguments over 7500 bytes into `aN_len=` + `aN[i]=` chunks); one of 12000 bytes with
# spaces (hex-encoded chunks); 3000 arguments (several EXECVE records per event); arguments the
# kernel hex-encodes: spaces, quotes, bytes that are not UTF-8 ($'\xff\xfe'), a newline, a tab,
# non-ASCII UTF-8, and an empty argument; `x` then 5000 two-byte characters (chunk boundaries
# cut characters in two); arguments that look like absent values, `(null)` and `?`; and a
# program whose path, name and working directory contain a space (hex-encoded exe, comm, cwd and
# PATH name).
set -eu
/bin/echo hello world >/dev/null
long=$(printf 'A%.0s' {1..20000})
/bin/true "$long"
spaced=$(printf 'x y %.0s' {1..3000})
/bin/true "$spaced" tail
/bin/true {1..3000}
/bin/true "two words" "it's" 'say "hi"' $'\xff\xfe' $'line1\nline2' $'tab\there' 'naïve' '' end
/bin/true "x$(printf 'é%.0s' {1..5000})"
/bin/true '(null)' '?' ''
mkdir "$CAPTURE_WORK/dir with space"
cp /bin/true "$CAPTURE_WORK/dir with space/my true"
cd "$CAPTURE_WORK/dir with space"
"./my true" x
