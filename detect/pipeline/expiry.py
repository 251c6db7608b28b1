"""Wall-clock expiry of incomplete events, for live sources.

Audit time only moves when records arrive: on a quiet host the last event of a burst would wait
for the next one. So an event in flight that has received no record for `idle_s` of wall time
(an injected clock) is completed as expired. Events that end with EOE (netlink, the dispatcher)
never wait for this.

`maintain()` looks at the in-flight events (few: they complete within moments) and notes when
each last grew, and completes the idle ones with `Reassembler.expire`.
"""

from __future__ import annotations

from collections.abc import Callable

from detect.auditd.reassemble import Reassembler

IDLE_S = 0.5


class WallClockExpiry:
    def __init__(
        self, machine: Reassembler, clock: Callable[[], float], idle_s: float = IDLE_S
    ) -> None:
        self.machine = machine
        self.clock = clock
        self.idle_s = idle_s
        self._seen: dict[int, tuple[int, float]] = {}  # id(event) -> (size, since when)
        self.expired = 0

    def maintain(self) -> int:
        """Complete the events idle for `idle_s`; how many."""
        if not self.machine.inflight:
            self._seen.clear()
            return 0
        now, seen, closed = self.clock(), {}, 0
        for event in self.machine.inflight_events():
            count = event.size  # grows with each record it takes (its records wait elsewhere)
            before = self._seen.get(id(event))
            since = before[1] if before is not None and before[0] == count else now
            if now - since >= self.idle_s:
                self.machine.expire(event)
                closed += 1
            else:
                seen[id(event)] = (count, since)
        self._seen = seen
        self.expired += closed
        return closed
