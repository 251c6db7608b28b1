"""Constructed hit streams for correlation tests: rules from YAML text, hits by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from detect.sigma.correlation.correlator import Correlator
from detect.sigma.correlation.hit import Hit, Result
from detect.sigma.correlation.resolve import resolve
from detect.sigma.correlation.window import Limits
from detect.sigma.load import load_detections

BASE = """\
title: Base {name}
id: {uuid}
name: {name}
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: /{name}}}
  condition: sel
"""
UUIDS = {
    "a": "0a7d4f4e-93a8-4f42-8a0e-000000000001",
    "b": "0a7d4f4e-93a8-4f42-8a0e-000000000002",
    "c": "0a7d4f4e-93a8-4f42-8a0e-000000000003",
}


def rules_text(correlations: str, names: tuple[str, ...] = ("a", "b", "c")) -> str:
    bases = [BASE.format(name=name, uuid=UUIDS[name]) for name in names]
    return "---\n".join([*bases, correlations])


@dataclass
class Stream:
    """A correlator over the correlations of some YAML, collecting what it emits."""

    correlator: Correlator
    results: list[Result] = field(default_factory=list)
    serial: int = 0

    def hit(self, rule: str, seconds: float, host: str = "h1", **fields: object) -> None:
        self.serial += 1
        time_ms = round(seconds * 1000)
        values = {"host.name": host, **fields}
        hit = Hit(UUIDS[rule], time_ms, host, (host, self.serial), values.get, self.serial)
        self.correlator.push(hit)
        self.correlator.advance(time_ms)

    def flush(self) -> list[Result]:
        self.correlator.flush()
        return self.results

    def summary(self) -> list[tuple[str, dict[str, object], float, int, int, list[object]]]:
        """(correlation title, group, value, start s*1000, end, contributing payloads)."""
        return [
            (r.correlation.title, r.group, r.value, r.start_ms, r.end_ms, _payloads(r))
            for r in self.results
        ]


def _payloads(result: Result) -> list[object]:
    return [hit.payload for hit in result.base_hits()]


def stream(
    tmp_path: Path, correlations: str, *, horizon_ms: int = 2000, limits: Limits | None = None
) -> Stream:
    path = tmp_path / "rules.yml"
    path.write_text(rules_text(correlations))
    ruleset = load_detections([path], default=False)
    assert ruleset.errors == [], ruleset.errors
    resolved = resolve(ruleset.rules, ruleset.correlations)
    assert resolved.errors == [], resolved.errors
    results: list[Result] = []
    correlator = Correlator(
        resolved.correlations,
        results.append,
        silent=frozenset(resolved.silent),
        horizon_ms=horizon_ms,
        limits=limits,
    )
    return Stream(correlator, results)
