"""The HTML report without a browser: what the page holds, how inputs are read back, errors with
their file:line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from detect.cli.commands import main
from detect.core.errors import Location
from detect.outputs.report.matrix import build_matrix, heat, technique_counts
from detect.outputs.report.model import ReportInput, RuleRef, build_report
from detect.outputs.report.read import (
    ReportInputError,
    read_alert_documents,
    read_incident_documents,
    read_summary,
)
from detect.outputs.report.render import render_report
from tests.report.conftest import Scanned


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_scan_html_and_report_over_its_json_lines_give_the_same_page(
    host_day: Scanned, tmp_path: Path
) -> None:
    page = tmp_path / "again.html"
    args = [
        "report", str(host_day.alerts), str(host_day.incidents),
        "--summary", str(host_day.summary), "--html", str(page),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert page.read_bytes() == host_day.html.read_bytes()


def test_the_page_holds_every_incident_and_alert_and_fetches_nothing(host_day: Scanned) -> None:
    text = host_day.html.read_text(encoding="utf-8")
    incidents = lines(host_day.incidents)
    assert len(incidents) == 6
    for document in incidents:
        identifier = document["detect"]["incident"]["id"]
        assert f'id="incident-{identifier}" data-incident="{identifier}"' in text
        assert document["detect"]["incident"]["title"] in text  # readable without the script
    for number in range(1, len(lines(host_day.alerts)) + 1):
        assert f'id="alert-{number}"' in text
    # nothing loaded from elsewhere: no src or href but in-page anchors, and a policy that
    # forbids every other source
    assert not re.findall(r"\ssrc=|<link\b|@import|url\(", text)
    assert set(re.findall(r'href="(.)', text)) == {"#"}
    assert "default-src 'none'" in text


def test_the_header_warns_of_lost_events_and_counts_what_was_read(host_day: Scanned) -> None:
    summary = json.loads(host_day.summary.read_text())
    assert summary["lost"] == 30  # the capture's filter leaves serial gaps (its .md)
    text = host_day.html.read_text(encoding="utf-8")
    assert 'role="alert"' in text and "30 events were lost" in text
    assert "2,282 / 416" in text  # records / events read
    assert f"{summary['rules_loaded']} / 0" in text  # rules loaded / skipped


def test_incidents_come_highest_first_with_their_alerts_trees_and_raw_records(
    host_day: Scanned,
) -> None:
    data = ReportInput(
        read_alert_documents(host_day.alerts),
        read_incident_documents(host_day.incidents),
        read_summary(host_day.summary),
    )
    report = build_report(data)
    levels = [incident["level"] for incident in report["incidents"]]
    assert levels == ["critical", "critical", "high", "high", "high", "low"]
    web = report["incidents"][0]
    assert "Web Server" in web["title"] and web["score"] == max(
        i["score"] for i in report["incidents"]
    )
    alerted = [node for node in web["tree"] if node["level"]]
    assert {node["level"] for node in alerted} == {"high", "medium"}
    assert all(node["executable"] for node in alerted)
    # each of its alerts is linked to it, and carries its raw records
    rows = {row["key"]: row for row in report["alerts"]}
    assert web["alerts"] and all(rows[key]["incident"] == web["id"] for key in web["alerts"])
    assert all(rows[key]["raw"][0].startswith("type=") for key in web["alerts"])
    assert report["rules"]["known"] is False  # no rules given: never-fired unknown, and said


def test_rule_statistics_list_hits_alerts_and_the_rules_that_never_fired(
    host_day: Scanned,
) -> None:
    summary = read_summary(host_day.summary)
    rules = [
        RuleRef("3ab9760b-26cf-41be-80ac-1abab91de007", "Shell Started Below a Web Server", "high"),
        RuleRef("00000000-0000-0000-0000-000000000000", "A Rule That Never Fired", "medium"),
    ]
    data = ReportInput(read_alert_documents(host_day.alerts), [], summary, rules)
    stats = build_report(data)["rules"]
    by_id = {row["id"]: row for row in stats["rows"]}
    web = by_id["3ab9760b-26cf-41be-80ac-1abab91de007"]
    assert web["hits"] == 8  # the summary's count
    assert web["alerts"] + web["folded"] == 8  # written once, the repeats folded into a count
    assert [rule["title"] for rule in stats["never"]] == ["A Rule That Never Fired"]


def test_the_matrix_counts_hits_under_every_tactic_of_a_technique() -> None:
    plain = {"threat": {"technique": {"id": ["T1059"], "subtechnique": {"id": ["T1059.004"]}}}}
    folded = {**plain, "detect": {"count": 5}}  # stands for 4 repeats of the first
    assert technique_counts([plain, folded]) == {"T1059": 5, "T1059.004": 5}
    matrix = build_matrix([plain, {"threat": {"technique": {"id": ["T9999"]}}}])
    execution = next(c for c in matrix["columns"] if c["name"] == "Execution")
    assert [cell["id"] for cell in execution["cells"]] == ["T1059", "T1059.004"]
    assert [cell["id"] for cell in matrix["unknown"]] == ["T9999"]
    assert (heat(1, 100), heat(100, 100), heat(10, 100)) == (1, 5, 3)


def test_a_stream_incident_file_keeps_each_incident_s_last_line(
    host_day: Scanned, tmp_path: Path
) -> None:
    [first, *_] = lines(host_day.incidents)
    opened = json.loads(json.dumps(first))
    opened["detect"]["incident"]["status"] = "open"
    path = tmp_path / "stream.jsonl"
    path.write_text(json.dumps(opened) + "\n" + json.dumps(first) + "\n")
    [kept] = read_incident_documents(path)
    assert kept["detect"]["incident"]["status"] == "closed"


@pytest.mark.parametrize(
    ("reader", "text", "reason"),
    [
        (read_alert_documents, '{"@timestamp": 1}\n', "not an alert: @timestamp"),
        (read_alert_documents, "{not json\n", "not an alert: not JSON"),
        (read_incident_documents, '{"event": {"dataset": "x"}}\n', "not an incident"),
        (
            read_incident_documents,
            '{"event": {"dataset": "detect.incident"}, "detect": {"incident": {"id": "1"}}}\n',
            "incident without detect.incident.score",
        ),
        (read_summary, "[]\n", "not a run summary"),
    ],
)
def test_a_bad_line_is_refused_with_its_file_and_line(
    tmp_path: Path, reader: object, text: str, reason: str
) -> None:
    path = tmp_path / "input.jsonl"
    path.write_text("\n" + text)
    with pytest.raises(ReportInputError) as caught:
        reader(path)  # type: ignore[operator]
    assert caught.value.location == Location(str(path), 2)
    assert caught.value.reason.startswith(reason)


def test_the_report_command_names_the_bad_line_and_exits_2(
    host_day: Scanned, tmp_path: Path
) -> None:
    bad = tmp_path / "incidents.jsonl"
    bad.write_text(host_day.alerts.read_text().splitlines()[0] + "\n")
    args = ["report", str(host_day.alerts), str(bad), "--html", str(tmp_path / "r.html")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert f"{bad}:1: not an incident" in result.output
    assert not (tmp_path / "r.html").exists()


def test_text_from_the_log_is_escaped_and_non_utf8_bytes_shown() -> None:
    alert = {
        "@timestamp": "2026-12-07T00:00:00.000Z",
        "rule": {"id": "r", "name": "<script>alert(1)</script>"},
        "detect": {
            "level": "high",
            "events": [{"records": [{"raw": "type=EXECVE a0=\udcff</script>"}], "process": {}}],
        },
    }
    page = render_report(ReportInput([alert], []))
    body = page.split('<script type="application/json"')[0]
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "a0=\\xff&lt;/script&gt;" in body
