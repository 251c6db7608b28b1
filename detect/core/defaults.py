"""Defaults that more than one stage (or the command line) must agree on: one constant each."""

from __future__ import annotations

from typing import Final

# Audit time after which an event without EOE is complete (auditd's own end_of_event_timeout);
# correlations hold hits back by the same horizon, since reassembly may still complete events
# that old.
HORIZON_MS: Final = 2000

# The longest line read as a record, in bytes, its newline not counted: the default of
# `--max-line-bytes` (reassembly's Limits.max_line_bytes). The kernel's own records are at most
# KERNEL_MAX_RECORD bytes, so longer is garbage or a forgery. Sources stop buffering a line past
# the bound while reading it, and the parser refuses what is longer (counted, with file:line).
MAX_LINE: Final = 1 << 20
KERNEL_MAX_RECORD: Final = 8970  # the kernel's MAX_AUDIT_MESSAGE_LENGTH
