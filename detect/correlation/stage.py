"""The correlation stage: engine matches become hits, with the fields of the view each was
found on (detect.matching.fields), and go through the Sigma correlations (detect.sigma.correlation).

`CorrelationStage` is what a scan holds: it resolves the ruleset's correlations, turns matches
into hits, moves audit time on, and tells which matches alert on their own. A scan of one
stream runs every correlation (`ALL`); a scan partitioned by host runs in each host's pipeline
those that group by host (`HOST`, exporting the hits the others read) and the others after the
merge (`MERGE`): detect.correlation.placement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from detect.core.defaults import HORIZON_MS
from detect.core.packing import preset_of
from detect.correlation.contribution import Contribution, event_lines
from detect.correlation.exported import ExportedHit, export
from detect.correlation.placement import Placement, place
from detect.matching.engine import Match
from detect.matching.fields import field_getter
from detect.sigma.correlation.correlator import Correlator
from detect.sigma.correlation.hit import Hit, Result
from detect.sigma.correlation.model import Correlation
from detect.sigma.correlation.resolve import Resolved, resolve, rule_key
from detect.sigma.correlation.window import Limits, Windows
from detect.sigma.model import Rule, RuleSet

ALL, HOST, MERGE = "all", "host", "merge"  # which correlations a stage runs (module doc)
Export = Callable[[ExportedHit], object]


class Reassembly(Protocol):
    """What the stage asks of reassembly (detect.auditd.reassemble.Reassembler)."""

    def oldest_inflight_ms(self) -> int | None: ...

    def audit_time(self, node: str | None) -> int: ...


def hit_of(key: str, match: Match, preset: bytes | None = None) -> Hit:
    """The hit of `match` for the correlations over rule `key` (`rule_key` of its rule). Its
    getter reads the matched view until the hit goes into the windows (which take what they
    measure and group by then: the correlator drops it); what the alert needs later is kept as
    a `Contribution`, the event as its lines (packed against `preset`, if given)."""
    event = match.event
    order = (event.node or "", event.serial)
    contribution = Contribution(match, preset)
    return Hit(key, event.time_ms, event.node, order, field_getter(match), contribution)


def inflight_floor(machine: Reassembly | None) -> int | None:
    """The audit time of the oldest event the reassembler still holds (it can still emit
    events that old); None when it holds none."""
    return None if machine is None else machine.oldest_inflight_ms()


class CorrelationStage:
    """The correlations of a ruleset, fed by engine matches."""

    def __init__(
        self,
        ruleset: RuleSet,
        emit: Callable[[Result], object],
        *,
        horizon_ms: int = HORIZON_MS,
        limits: Limits | None = None,
        reuse: dict[str, Windows] | None = None,
        side: str = ALL,
        export: Export | None = None,
    ) -> None:
        self.resolved: Resolved = resolve(ruleset.rules, ruleset.correlations)
        self.placement: Placement = place(self.resolved.correlations)
        if side == HOST and export is None and self.placement.splits:
            raise ValueError("a host's correlation stage exports hits: `export` is needed")
        self.side, self.export = side, export
        self.exported = self.placement.exported if side == HOST else {}
        self.limits = limits
        self.correlator = Correlator(
            self._running(side),
            emit,
            silent=frozenset(self.resolved.silent),
            horizon_ms=horizon_ms,
            limits=limits,
            reuse=reuse,
        )
        self.machine: Reassembly | None = None
        self._newest = -1
        # per rule key: the pickle of its first hit's lines, which its later hits that stay
        # here are packed against (detect.correlation.contribution)
        self._presets: dict[str, bytes] = {}

    def _running(self, side: str) -> list[Correlation]:
        merged = self.placement.merged
        if side == HOST:
            return [c for c in self.resolved.correlations if c.key not in merged]
        if side == MERGE:
            return [c for c in self.resolved.correlations if c.key in merged]
        return self.resolved.correlations

    @classmethod
    def continuing(
        cls, previous: CorrelationStage, ruleset: RuleSet, emit: Callable[[Result], object]
    ) -> CorrelationStage:
        """The stage of a reloaded ruleset: unchanged correlations keep their windows, the
        hits held back and the audit time of `previous`, and its reassembly."""
        stage = cls(
            ruleset,
            emit,
            horizon_ms=previous.correlator.horizon_ms,
            limits=previous.limits,
            reuse=previous.state(),
            side=previous.side,
            export=previous.export,
        )
        stage.machine = previous.machine
        stage.correlator.watermark = previous.correlator.watermark
        for hit in previous.correlator.drain_pending():
            stage.correlator.push(hit)
        return stage

    def __bool__(self) -> bool:
        return bool(self.resolved.correlations)

    def alerting(self, matches: list[Match], node: str | None, time_ms: int) -> list[Match]:
        """Feed the matches to the correlations; return those that alert on their own."""
        own = self._feed(matches) if matches else matches
        self.observe(self._audit_time(node, time_ms))
        return own

    def _feed(self, matches: list[Match]) -> list[Match]:
        correlator, exported = self.correlator, self.exported
        own: list[Match] = []
        for match in matches:
            key = rule_key(match.rule.id, match.rule.name)
            wanted = correlator.wants(key)
            names = exported.get(key) if exported else None
            if wanted or names is not None:
                hit = hit_of(key, match, None if names is not None else self._preset(key, match))
                if names is not None and self.export is not None:
                    self.export(export(hit, names))  # before the windows may spend it
                if wanted:
                    correlator.push(hit)
            if key not in correlator.silent:
                own.append(match)
        return own

    def _preset(self, key: str, match: Match) -> bytes:
        """The preset of rule `key`'s hits: made of the first."""
        preset = self._presets.get(key)
        if preset is None:
            preset = self._presets[key] = preset_of(event_lines(match.event))
        return preset

    def take(self, hit: ExportedHit, rule: Rule) -> None:
        """A hit a host exported (`rule`: its rule, loaded here), in merged time order."""
        self.correlator.push(hit.hit(rule))
        self.observe(hit.time_ms)

    def _audit_time(self, node: str | None, time_ms: int) -> int:
        """The event's time, or its node's audit time when reassembly holds the node's clock
        back from it (one bogus timestamp far ahead): no window may close early for it."""
        if self.machine is not None:
            confirmed = self.machine.audit_time(node)
            if 0 <= confirmed < time_ms:
                return confirmed
        return time_ms

    def observe(self, time_ms: int) -> None:
        """An event of audit time `time_ms` was seen."""
        if time_ms > self._newest:
            self._newest = time_ms
        correlator = self.correlator
        if correlator.busy():  # most events: nothing waits, nothing is held
            limit = self._newest - correlator.horizon_ms
            floor = inflight_floor(self.machine)
            if floor is not None:
                limit = min(limit, floor - 1)
            correlator.release_until(limit)

    def advance(self, time_ms: int) -> None:
        """Audit time is known to have reached `time_ms` (e.g. a live source's clock)."""
        self.correlator.advance(time_ms)

    def flush(self) -> None:
        self.correlator.flush()

    def state(self) -> dict[str, Windows]:
        return dict(self.correlator.windows)
