"""Alerts and incidents of the triage captures (tests/triage/captures, made by
scripts/capture/triage: a host's background work, an admin session and three attacks)."""

from __future__ import annotations

from pathlib import Path

from detect.core.alert import Activity, Alert, RuleInfo
from detect.pipeline.factory import PipelineSettings, load_rules, scan_files
from detect.pipeline.scan import Scan
from detect.triage.incidents import CLOSED, Incident
from detect.triage.settings import TriageSettings

CAPTURES = Path(__file__).parent / "captures"
DAY = CAPTURES / "host_day.log"
BASELINE = CAPTURES / "host_baseline.log"


def scan_with_triage(
    path: Path, settings: TriageSettings | None = None, **options: object
) -> tuple[Scan, list[Alert], list[Incident]]:
    """The written alerts and the closed incidents of a batch scan of `path`."""
    pipeline = PipelineSettings(triage=settings or TriageSettings(), **options)  # type: ignore[arg-type]
    alerts: list[Alert] = []
    closed: dict[str, Incident] = {}

    def on_incident(incident: Incident, change: str) -> None:
        if change == CLOSED:
            closed[incident.id] = incident

    scan, _ = scan_files([str(path)], load_rules(pipeline), alerts.append, pipeline, on_incident)
    return scan, alerts, list(closed.values())


def rule(level: str, rule_id: str = "r1", tactics: tuple[str, ...] = ("TA0002",)) -> RuleInfo:
    fields = {"rule": {"id": rule_id}, "detect": {"level": level, "rule_source": "x.yml"}}
    return RuleInfo(rule_id, f"Rule {rule_id}", level, "x.yml", (), fields, tactics)


def alert(
    info: RuleInfo,
    time_ms: int,
    *,
    serial: int = 1,
    session: str | None = None,
    chain: list[dict[str, object]] | None = None,
    command: str = "cmd",
) -> Alert:
    own = (chain or [{}])[-1]
    parent = (chain or [{}, {}])[-2] if chain and len(chain) > 1 else {}
    activity = Activity(
        session,
        None if session is None else "1000",
        "root",
        str(own.get("executable", "/usr/bin/x")),
        command,
        parent.get("executable"),  # type: ignore[arg-type]
    )
    event = {"host": "h1", "serial": serial, "@timestamp": str(time_ms), "view": "auditd"}
    return Alert(info, time_ms, "h1", [event], ancestry=chain, activity=activity)
