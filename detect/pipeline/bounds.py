"""What a live stream says at its end about the bounds it hit (issue 18), as `detect scan`'s
summary says it: reassembly's bounds and bad fields, process-tree and correlation evictions."""

from __future__ import annotations

from detect.auditd.reassemble import Reassembler
from detect.outputs.summary import BOUNDS
from detect.pipeline.scan import Scan

CORRELATION_BOUNDS = ("groups_evicted", "hits_evicted", "pending_forced")


def bounds_hit(machine: Reassembler, scan: Scan) -> list[str]:
    """`name count` for each bound that was hit, in the summary's words; [] when none was."""
    stats = machine.stats.to_dict()
    names = (*BOUNDS, "bad_fields")
    parts = [f"{name.replace('_', ' ')} {stats[name]}" for name in names if stats.get(name)]
    tree = scan.engine.tree
    if tree is not None and tree.stats.evicted:
        parts.append(f"processes evicted {tree.stats.evicted}")
    if scan.correlations is not None:
        totals = scan.correlations.correlator.stats.to_dict()
        for name in CORRELATION_BOUNDS:
            if totals.get(name):
                parts.append(f"correlation {name.replace('_', ' ')} {totals[name]}")
    return parts


def bounds_line(machine: Reassembler, scan: Scan) -> str | None:
    parts = bounds_hit(machine, scan)
    return f"stream: bounds: {', '.join(parts)}" if parts else None
