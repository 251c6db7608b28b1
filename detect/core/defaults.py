"""Defaults that more than one stage (or the command line) must agree on: one constant each."""

from __future__ import annotations

from typing import Final

# Audit time after which an event without EOE is complete (auditd's own end_of_event_timeout);
# correlations hold hits back by the same horizon, since reassembly may still complete events
# that old.
HORIZON_MS: Final = 2000

# The longest line read as a record (the kernel caps a record far below this; longer is garbage).
# Sources stop buffering a line here, while reading, and the parser refuses what is longer.
MAX_LINE: Final = 1 << 20
