"""`detect report ALERTS INCIDENTS --html FILE`, and what `detect scan --html FILE` collects on
the way: the alert and incident documents of a run, written as one HTML page at its end."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from detect.cli.options import no_default_option
from detect.core.alert import Alert
from detect.outputs.incidents import incident_document
from detect.outputs.report.model import ReportInput, RuleRef
from detect.outputs.summary import RunSummary
from detect.pipeline.factory import PipelineSettings, load_rules
from detect.triage.incidents import CLOSED, Incident

if TYPE_CHECKING:
    from detect.sigma.model import RuleSet

EXIT_ERROR = 2


def rule_refs(rules: RuleSet) -> list[RuleRef]:
    return [RuleRef(rule.id, rule.title, rule.level or "medium") for rule in rules.rules]


class ReportCollector:
    """Between a scan and its sinks: passes everything on and, with `keep` (`--html`), keeps
    each alert's and each closed incident's document for the report."""

    def __init__(
        self,
        alerts: Callable[[Alert], object],
        incidents: Callable[[Incident, str], object],
        keep: bool = True,
    ) -> None:
        self._alerts, self._incidents, self.keep = alerts, incidents, keep
        self.alert_documents: list[dict[str, object]] = []
        self.incident_documents: dict[str, dict[str, object]] = {}

    def alert(self, alert: Alert) -> None:
        if self.keep:
            self.alert_documents.append(alert.document())
        self._alerts(alert)

    def incident(self, incident: Incident, change: str) -> None:
        if self.keep and change == CLOSED:
            self.incident_documents[incident.id] = incident_document(incident, change)
        self._incidents(incident, change)

    def write(self, path: Path, summary: RunSummary, rules: RuleSet) -> None:
        data = ReportInput(
            self.alert_documents,
            list(self.incident_documents.values()),
            summary.to_dict(),
            rule_refs(rules),
        )
        from detect.outputs.report.render import write_report  # jinja2: 18 ms to import

        size = write_report(data, path)
        click.echo(f"report: {path} ({size:,} bytes)", err=True)


@click.command("report")
@click.argument("alerts", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("incidents", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--html", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Write here."
)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The run's summary (scan --summary-json): records, losses, hits by rule.",
)
@click.option("--rules", "rule_paths", multiple=True, help="More Sigma rule files or folders.")
@no_default_option
def report(
    alerts: Path,
    incidents: Path,
    html: Path,
    summary: Path | None,
    rule_paths: tuple[str, ...],
    no_default_rules: bool,
) -> None:
    """One self-contained HTML page (no network when opened) of the ALERTS and INCIDENTS JSON
    lines a scan or a stream wrote: incidents with their process trees, a timeline, the ATT&CK
    matrix, rule statistics. The rules (as for scan) name the rules that never fired."""
    from detect.outputs.report.read import (  # pydantic: for reading alert files alone
        ReportInputError,
        read_alert_documents,
        read_incident_documents,
        read_summary,
    )

    try:
        data = ReportInput(
            read_alert_documents(alerts),
            read_incident_documents(incidents),
            read_summary(summary) if summary else None,
            rule_refs(load_rules(PipelineSettings(rule_paths=rule_paths,
                                                  default_rules=not no_default_rules))),
        )  # fmt: skip
    except ReportInputError as error:
        click.echo(f"report: {error}", err=True)
        sys.exit(EXIT_ERROR)
    from detect.outputs.report.render import write_report

    size = write_report(data, html)
    click.echo(f"report: {html} ({size:,} bytes)", err=True)
