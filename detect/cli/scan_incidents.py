"""Where `detect scan` sends incidents: the `--incidents` file (JSON lines of the closed ones),
and for `--format text` the view for people, printed at the end of the scan."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from detect.core.alert import Alert
from detect.outputs.incidents import JsonIncidentWriter, TextIncidentView
from detect.pipeline.scan import Scan
from detect.triage.incidents import CLOSED, Incident


class ScanIncidents:
    def __init__(self, path: Path | None, text: TextIO | None) -> None:
        self._file = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115
        self._json = JsonIncidentWriter(self._file) if self._file else None
        self._view = TextIncidentView(text) if text is not None else None  # keeps the last
        self.alerts = 0

    def __call__(self, incident: Incident, change: str) -> None:
        if change != CLOSED:  # a batch scan writes each incident once, as it ended
            return
        if self._json is not None:
            self._json(incident, change)
        if self._view is not None:
            self._view(incident, change)

    def count_alert(self, alert: Alert) -> None:
        """The alert sink of the text view: alerts are counted, the incidents are shown."""
        self.alerts += 1

    def close(self, scan: Scan) -> None:
        if self._file is not None:
            self._file.close()
        if self._view is not None:
            self._view.close(footer(scan, self.alerts))


def footer(scan: Scan, written: int) -> str:
    triage = scan.triage
    if triage is None:
        return f"{scan.hits} alerts"
    hits = ", ".join(f"{level} {n}" for level, n in triage.summary()["hits_by_level"].items())
    return (
        f"{sum(triage.closed.values())} incidents from {scan.hits} hits "
        f"({hits}); {written} alerts at {triage.settings.min_level} and above after "
        f"deduplication (JSON lines without --format text)"
    )
