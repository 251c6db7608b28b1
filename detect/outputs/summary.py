"""The run summary every command prints at the end (stderr) and can write as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from detect.auditd.reassemble import Reassembler
from detect.sources.files import SourceStats

# Reassembly counters that say a bound was hit or input was held back (issue 18): printed when
# not zero (all are in the JSON summary).
BOUNDS = (
    "events_capped",
    "records_dropped",
    "inflight_full",
    "node_inflight_full",
    "nodes_forgotten",
    "nodes_full",
    "serial_resets",
    "serial_outliers",
    "time_jumps_held",
)


# What "lost N (serial gaps)" means, said where it is printed: the count alone reads as loss.
GAPS_MEAN = (
    "  serial gaps: serial numbers never seen between events of one node (`-`: lines without\n"
    "  node=, every such file read as one host). Events missing from the input: logs filtered or\n"
    "  cut, rotated files not given, separate captures read together, or events the kernel\n"
    "  dropped. Only the kernel's lost counter (`auditctl -s`) and AUDIT_LOST or backlog\n"
    "  records are evidence of kernel loss.\n"
)


@dataclass
class RunSummary:
    seconds: float
    files: int
    file_errors: list[str]
    reassembly: dict[str, Any]
    lost: int
    lost_by_node: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def collect(
        cls, machine: Reassembler, sources: SourceStats, seconds: float, **extra: Any
    ) -> RunSummary:
        lost_by_node = {node or "-": count for node, count in machine.lost_by_node.items()}
        return cls(
            seconds=seconds,
            files=sources.files,
            file_errors=list(sources.errors),
            reassembly=machine.stats.to_dict(),
            lost=machine.lost,
            lost_by_node=lost_by_node,
            extra=extra,
        )

    @property
    def records_per_second(self) -> float:
        return self.reassembly["records"] / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"files": self.files, "file_errors": self.file_errors}
        out.update(self.reassembly)
        out.update(lost=self.lost, lost_by_node=self.lost_by_node, seconds=round(self.seconds, 3))
        out["records_per_second"] = round(self.records_per_second)
        out.update(self.extra)
        return out

    def write_text(self, stream: TextIO) -> None:
        r = self.reassembly
        stream.write(
            f"files {self.files}, lines {r['lines']}, records {r['records']}, "
            f"events {r['events']}, unparsed {r['unparsed']}, lost {self.lost} (serial gaps), "
            f"expired {r['expired']} (no EOE), evicted {r['evicted']}, "
            f"late records {r['late_records']}, {self.records_per_second:,.0f} records/s "
            f"in {self.seconds:.2f}s\n"
        )
        bounds = [f"{name.replace('_', ' ')} {r[name]}" for name in BOUNDS if r.get(name)]
        if bounds:
            stream.write(f"  bounds: {', '.join(bounds)}\n")
        for example in r["unparsed_examples"]:
            stream.write(f"  unparsed: {example}\n")
        if r.get("bad_fields"):  # numbers out of range (issue 18): kept as text, counted
            stream.write(f"  bad fields: {r['bad_fields']} (numbers out of range, kept as text)\n")
        for example in r.get("bad_field_examples", ()):
            stream.write(f"  bad field: {example}\n")
        for error in self.file_errors:
            stream.write(f"  input error: {error}\n")
        for node, count in self.lost_by_node.items():
            stream.write(f"  lost on node {node}: {count}\n")
        if self.lost:
            stream.write(GAPS_MEAN)


def _levels(counts: dict[str, int]) -> str:
    return ", ".join(f"{level} {n}" for level, n in counts.items()) or "none"


def _write_triage(triage: dict[str, Any], stream: TextIO) -> None:
    """Hits and written alerts by level, deduplication, incidents (DESIGN §12)."""
    folded = triage["deduplicated"]
    incidents = triage["incidents"]
    stream.write(
        f"  hits by level: {_levels(triage['hits_by_level'])}; written at "
        f"{triage['min_level']} and above: {_levels(triage['written_by_level'])} "
        f"({folded['folded']} repeats folded into {folded['updates']} count alerts)\n"
        f"  incidents: {_levels(incidents['by_level'])} "
        f"({incidents['closed_early']} closed early, state full)\n"
        f"  hits by rule (informational ones tag incidents, never alert):\n"
    )


def write_scan_text(summary: RunSummary, stream: TextIO) -> None:
    """The scan's part of the summary: rules, then alerts by rule and by technique."""
    extra = summary.extra
    skipped = extra["rules_skipped"]
    stream.write(
        f"rules loaded {extra['rules_loaded']}, skipped {len(skipped)}; alerts {extra['alerts']}\n"
    )
    for entry in skipped:
        stream.write(f"  skipped: {entry['file']}: {entry['rule']}: {entry['reason']}\n")
    triage = extra.get("triage")
    if triage is not None:
        _write_triage(triage, stream)
    else:
        stream.write("  hits by rule:\n")
    for name, count in extra["alerts_by_rule"].items():
        stream.write(f"  {count:>7} {name}\n")
    correlations = extra.get("correlations")
    if correlations:
        stream.write(
            f"  correlations {correlations['loaded']}: hits {correlations['hits']}, "
            f"alerts {correlations['results']}, ungrouped {correlations['ungrouped']}, "
            f"late {correlations['late']}, evicted groups {correlations['groups_evicted']} "
            f"and hits {correlations['hits_evicted']}, forced {correlations['pending_forced']}\n"
        )
    if extra["alerts_by_technique"]:
        techniques = ", ".join(f"{t} {n}" for t, n in extra["alerts_by_technique"].items())
        stream.write(f"  by technique: {techniques}\n")
    tree = extra.get("process_tree")
    if tree:
        stream.write(
            f"  process tree: processes {tree['processes']}, expired {tree['expired']}, "
            f"idle {tree.get('idle', 0)}, evicted {tree['evicted']} "
            f"(of which living {tree['evicted_living']})\n"
        )
    summary.write_text(stream)
