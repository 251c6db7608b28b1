#!/bin/bash
# A few execve events written with name_format = USER, name = testhost: every line starts with
# `node=testhost `.
set -eu
/bin/true one
/bin/echo two "three four" >/dev/null
/usr/bin/env true
id -u >/dev/null
