"""What the triage stage is asked to do (docs/triage.md): the least level written, the
deduplication window, the incidents' quiet gap, longest span and how many stay open.

Plain settings that travel pickled with the pipeline's settings to Dask tasks (forked worker
processes inherit them): never compiled (detect/core/native.py), as a compiled frozen dataclass
does not unpickle (its `__setstate__` assigns to the frozen fields).
"""

from __future__ import annotations

from dataclasses import dataclass

from detect.triage.dedup import DEFAULT_WINDOW_MS
from detect.triage.incidents import DEFAULT_GAP_MS, DEFAULT_MAX_MS, MAX_OPEN
from detect.triage.levels import DEFAULT_MIN_LEVEL, LEVELS


@dataclass(frozen=True)
class TriageSettings:
    min_level: str = DEFAULT_MIN_LEVEL
    dedup_window_ms: int = DEFAULT_WINDOW_MS  # 0: no deduplication
    incident_gap_ms: int = DEFAULT_GAP_MS
    incident_max_ms: int = DEFAULT_MAX_MS
    max_open_incidents: int = MAX_OPEN

    def __post_init__(self) -> None:
        if self.min_level not in LEVELS:
            raise ValueError(f"unknown level {self.min_level!r} (one of {', '.join(LEVELS)})")
