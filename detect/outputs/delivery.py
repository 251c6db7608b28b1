"""Durable delivery to a remote receiver (webhook, syslog, any output added later).

A `RemoteOutput` is an alert sink: called with an alert (in the stream's thread), it appends the
bytes its transport sends to the output's spool (detect.outputs.spool) and returns; only then
does the alert count as produced. `flush` fsyncs the spool (after each batch, before a
checkpoint). A delivery thread takes batches from the spool and hands them to the transport:

- accepted (HTTP 2xx; syslog over TCP: every byte acknowledged by the receiver's TCP stack and the
  connection still open; UDP: sent, which is all UDP can tell): committed, counted delivered;
- not accepted for now (nothing answered, a reset, HTTP 5xx/408/429, a redirect): tried again,
  for ever, after a delay that doubles from `Backoff.first_s` up to `Backoff.max_s` (or what a
  Retry-After asks, within that cap); the alerts stay in the spool meanwhile;
- refused for good (HTTP 4xx other than 408/429, a datagram too large): a batch of several alerts
  is split in halves until the refused alerts stand alone; each is counted dropped and the
  reason said on stderr (once per reason).

Counts per output (`counts()`): delivered, pending (in the spool), retried (alerts whose first
attempt failed), dropped (refused, or by the spool's bound). `drain` waits a bounded time at
shutdown for the spool to empty; what is left stays in the spool for the next start.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from detect.core.alert import Alert
from detect.outputs.spool import MAX_BYTES, Say, Spool, Taken

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
BATCH_BYTES = 1 << 20
DRAIN_S = 10.0
WAIT_S = 0.2  # the delivery thread looks at the spool at least this often
JOIN_S = 15.0  # longest a send may still take when the thread is told to stop
QUIET_S = 60.0  # a transport that cannot confirm (UDP) is "delivering again" after this long


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a receiver made of a batch."""

    accepted: bool
    retry: bool = False  # not accepted for now: try again later
    reason: str = ""
    retry_after_s: float | None = None


ACCEPTED = Outcome(True)


def to_stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


def failed(reason: str, retry_after_s: float | None = None) -> Outcome:
    return Outcome(False, True, reason, retry_after_s)


def refused(reason: str) -> Outcome:
    return Outcome(False, False, reason)


class Transport(Protocol):
    """Sends one batch of payloads to a receiver; never raises for the receiver's faults."""

    name: str  # how messages and stats name the output (no secret from its address)
    batch_records: int
    confirms: bool  # False when "sent" is all it can tell (UDP)

    def send(self, payloads: Sequence[bytes]) -> Outcome: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = FIRST_BACKOFF_S
    max_s: float = MAX_BACKOFF_S

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What every remote output of a stream shares: where the spools are, their bound, the
    backoff, how long shutdown waits, and where messages go."""

    spool: Path
    max_bytes: int = MAX_BYTES
    backoff: Backoff = Backoff()
    drain_s: float = DRAIN_S
    say: Say = to_stderr


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    name: str
    delivered: int
    pending: int
    retried: int
    dropped: int
    confirms: bool = True
    spool: str = ""

    def text(self) -> str:
        done = "delivered" if self.confirms else "sent"
        return (
            f"{self.name}: {done} {self.delivered}, pending {self.pending}, "
            f"retried {self.retried}, dropped {self.dropped}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "delivered" if self.confirms else "sent": self.delivered,
            "pending": self.pending,
            "retried": self.retried,
            "dropped": self.dropped,
            "spool": self.spool,
        }


class RemoteOutput:
    def __init__(
        self,
        transport: Transport,
        encode: Callable[[Alert], bytes],
        spool: Spool,
        *,
        backoff: Backoff = Backoff(),
        say: Say = to_stderr,
    ) -> None:
        self.transport, self.encode, self.spool = transport, encode, spool
        self.backoff = backoff
        self.say = say
        self.delivered = self.refused = self.retried = 0
        self._down: str | None = None  # the reason of the ongoing outage
        self._failed_at = 0.0  # monotonic time of the last failed attempt
        self._refusals: set[str] = set()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"deliver {transport.name}")
        self._thread.daemon = True
        self._thread.start()

    # --- the stream's side ---

    def __call__(self, alert: Alert) -> None:
        self.spool.append(self.encode(alert))

    def flush(self) -> None:
        self.spool.sync()

    def counts(self) -> DeliveryCounts:
        return DeliveryCounts(
            self.transport.name,
            self.delivered,
            self.spool.pending,
            self.retried,
            self.refused + self.spool.dropped,
            self.transport.confirms,
            str(self.spool.path),
        )

    def drain(self, deadline: float) -> None:
        """Wait until the spool is empty or the monotonic `deadline` has passed; a thread
        waiting out a backoff tries once more at once."""
        self._wake.set()
        while self.spool.pending and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the delivery thread (what it has not delivered stays in the spool)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(JOIN_S)

    def close(self) -> None:
        self.stop()
        self.transport.close()
        self.spool.close()

    # --- the delivery thread ---

    def _run(self) -> None:
        delays = self.backoff.delays()
        while not self._stop.is_set():
            try:
                self._once()
            except Exception as error:  # the spool's disk failing: said, tried again
                self._outage(f"spool: {error}")
                self._wait(next(delays), None)
            else:
                delays = self.backoff.delays()

    def _once(self) -> None:
        taken = self.spool.take(self.transport.batch_records, BATCH_BYTES, WAIT_S)
        if taken is None:
            return
        try:
            delivered = self._deliver(taken, 0, len(taken))
        except BaseException:
            self.spool.release(taken)
            raise
        if not delivered:
            self.spool.release(taken)

    def _deliver(self, taken: Taken, start: int, end: int) -> bool:
        """Deliver `taken[start:end]`; False when told to stop first."""
        delays = self.backoff.delays()
        first = True
        while not self._stop.is_set():
            outcome = self.transport.send(taken.payloads[start:end])
            if outcome.accepted:
                self._accepted(taken, start, end)
                return True
            if not outcome.retry:
                return self._refused(taken, start, end, outcome.reason)
            if first:
                self.retried += end - start
                first = False
            self._outage(outcome.reason)
            self._wait(next(delays), outcome.retry_after_s)
        return False

    def _accepted(self, taken: Taken, start: int, end: int) -> None:
        self.delivered += end - start  # accepted, even if the commit below fails
        self.spool.commit(taken, start, end)
        if self._down is not None and self._recovered():
            self._down = None
            self.say(f"{self.transport.name}: delivering again")

    def _recovered(self) -> bool:
        """Over UDP, a send "succeeds" between the errors of a receiver that is away (each
        ICMP refusal comes back on the next send): recovered only after a quiet while."""
        return self.transport.confirms or time.monotonic() - self._failed_at >= QUIET_S

    def _refused(self, taken: Taken, start: int, end: int, reason: str) -> bool:
        if end - start > 1:  # find the alerts refused: halves, until they stand alone
            middle = (start + end) // 2
            return self._deliver(taken, start, middle) and self._deliver(taken, middle, end)
        self.refused += 1
        self.spool.commit(taken, start, end)
        if reason not in self._refusals:
            self._refusals.add(reason)
            self.say(
                f"{self.transport.name}: an alert was refused ({reason}): dropped; "
                "further refusals for this reason are only counted"
            )
        return True

    def _outage(self, reason: str) -> None:
        self._failed_at = time.monotonic()
        if self._down is None:
            self._down = reason
            self.say(
                f"{self.transport.name}: not accepted ({reason}): trying again with backoff "
                f"(up to {self.backoff.max_s:g} s); alerts wait in {self.spool.path}"
            )

    def _wait(self, delay: float, retry_after_s: float | None) -> None:
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.backoff.max_s))
        self._wake.wait(delay)
        self._wake.clear()
