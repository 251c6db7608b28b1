"""The periodic stats line of a stream (stderr): rate, lag, what was lost, what was dropped.

    stream: 1520 events/s, lag 0.03 s, lost 0 (serial gaps 0, kernel 0), drops 0, alerts 3,
    in flight 2, queue 0/64; webhook https://siem.example:8443: delivered 3, pending 0,
    retried 1, dropped 0

`lag` is wall time now minus the audit time of the newest completed event. `kernel` is how
much the kernel's lost-record counter grew since the stream started (`n/a` when it cannot be
read: not root, or privileges dropped). Each remote output adds its delivery counts
(detect.outputs.delivery: delivered, or "sent" for UDP; pending in its spool; retried; dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detect.outputs.delivery import DeliveryCounts


@dataclass
class StreamCounts:
    lines: int = 0
    events: int = 0
    newest_event_ms: int = -1
    skipped_lines: int = 0  # lines of events completed before a restart (checkpoint)
    reloads: int = 0


@dataclass(frozen=True)
class StatsSnapshot:
    events_per_s: float
    lag_s: float | None
    serial_gaps: int
    kernel_lost: int | None
    drops: int
    alerts: int
    inflight: int
    queued: int
    queue_size: int
    outputs: tuple[DeliveryCounts, ...] = ()

    @property
    def lost(self) -> int:
        return self.serial_gaps + (self.kernel_lost or 0)

    def line(self) -> str:
        lag = "-" if self.lag_s is None else f"{self.lag_s:.2f} s"
        kernel = "n/a" if self.kernel_lost is None else str(self.kernel_lost)
        return (
            f"stream: {self.events_per_s:.0f} events/s, lag {lag}, lost {self.lost} "
            f"(serial gaps {self.serial_gaps}, kernel {kernel}), drops {self.drops}, "
            f"alerts {self.alerts}, in flight {self.inflight}, "
            f"queue {self.queued}/{self.queue_size}{delivery_text(self.outputs)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_s, 1),
            "lag_s": self.lag_s,
            "lost": self.lost,
            "serial_gaps": self.serial_gaps,
            "kernel_lost": self.kernel_lost,
            "drops": self.drops,
            "alerts": self.alerts,
            "inflight": self.inflight,
            "outputs": [output.to_dict() for output in self.outputs],
        }


def delivery_text(outputs: tuple[DeliveryCounts, ...] | list[DeliveryCounts]) -> str:
    """`; NAME: delivered N, pending N, retried N, dropped N` for each remote output."""
    return "".join(f"; {output.text()}" for output in outputs)


class RateMeter:
    """Events per second since the previous reading."""

    def __init__(self, now: float) -> None:
        self._at, self._count = now, 0

    def rate(self, now: float, count: int) -> float:
        elapsed = now - self._at
        rate = (count - self._count) / elapsed if elapsed > 0 else 0.0
        self._at, self._count = now, count
        return rate
