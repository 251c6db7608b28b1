"""Host identity and `event.id` (issue 17): an alert's id is the same in `scan` (one job or
several) and `stream`; events without node= take `--host`, a live source defaults to this
machine's name, a record's own node= wins; `scan` says once how many events stayed unnamed."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from detect.cli.commands import main

ROOT = Path(__file__).resolve().parents[2]
DETECT = ROOT / ".venv" / "bin" / "detect"
CAPTURE = ROOT / "examples" / "exec_from_temp_dir.log"
INPUTS = [
    ROOT / "examples" / "exec_from_temp_dir.log",
    ROOT / "examples" / "useradd.log",
    ROOT / "tests" / "triage" / "captures" / "host_day.log",
]


def scan(*args: str) -> tuple[list[dict[str, Any]], str]:
    result = CliRunner().invoke(main, ["scan", "--no-progress", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return [orjson.loads(line) for line in result.stdout.splitlines()], result.stderr


def stream(log: Path, *args: str) -> list[dict[str, Any]]:
    with log.open("rb") as stdin:
        done = subprocess.run(
            [str(DETECT), "stream", "--stdin", "--stats-interval", "0", *args],
            stdin=stdin,
            capture_output=True,
            check=False,
            timeout=120,
        )
    assert done.returncode in (0, 1), done.stderr.decode()
    return [orjson.loads(line) for line in done.stdout.splitlines()]


def ids(alerts: list[dict[str, Any]]) -> list[str]:
    return [alert["event"]["id"] for alert in alerts]


@pytest.mark.parametrize("log", INPUTS, ids=lambda path: path.name)
def test_an_alert_has_the_same_id_in_scan_with_any_jobs_and_in_stream(log: Path) -> None:
    one, _ = scan(str(log), "--host", "web1", "--jobs", "1")
    two, _ = scan(str(log), "--host", "web1", "--jobs", "2")
    live = stream(log, "--host", "web1")
    assert one, "no alerts to compare"
    assert len(set(ids(one))) == len(one)  # every document its own id
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids(one))
    assert ids(two) == ids(one)
    assert sorted(ids(live)) == sorted(ids(one))
    by_id = {alert["event"]["id"]: alert for alert in one}
    for alert in live:
        assert alert["rule"]["id"] == by_id[alert["event"]["id"]]["rule"]["id"]
        assert alert["@timestamp"] == by_id[alert["event"]["id"]]["@timestamp"]


def test_the_id_depends_on_the_host_and_on_the_event() -> None:
    web1, _ = scan(str(INPUTS[1]), "--host", "web1")
    web2, _ = scan(str(INPUTS[1]), "--host", "web2")
    assert not set(ids(web1)) & set(ids(web2))
    folded = [a for a in web1 if "count" in a["detect"]]
    assert folded  # a fold update is a document of its own, beside its first alert
    firsts = {
        (a["rule"]["id"], a["detect"]["events"][0]["serial"])
        for a in web1
        if "count" not in a["detect"]
    }
    for fold in folded:
        assert (fold["rule"]["id"], fold["detect"]["events"][0]["serial"]) in firsts


def test_stream_names_events_without_node_after_this_machine_and_host_overrides() -> None:
    lines = CAPTURE.read_text(encoding="utf-8").splitlines()
    assert not any(line.startswith("node=") for line in lines)
    default = stream(CAPTURE)
    assert default
    assert {alert["host"]["name"] for alert in default} == {socket.gethostname()}
    assert {e["host"] for a in default for e in a["detect"]["events"]} == {socket.gethostname()}
    named = stream(CAPTURE, "--host", "web1")
    assert {alert["host"]["name"] for alert in named} == {"web1"}
    assert len(named) == len(default)


def test_scan_leaves_events_without_node_unnamed_and_says_so_once() -> None:
    alerts, stderr = scan(str(CAPTURE))
    assert alerts and not any("host" in alert for alert in alerts)
    said = [line for line in stderr.splitlines() if "no node= and no --host" in line]
    assert len(said) == 1 and said[0].split()[0].isdigit()
    named, stderr = scan(str(CAPTURE), "--host", "web1")
    assert {alert["host"]["name"] for alert in named} == {"web1"}
    assert "no node=" not in stderr


def test_a_records_own_node_wins_over_host(tmp_path: Path) -> None:
    lines = CAPTURE.read_text(encoding="utf-8").splitlines()
    half = len(lines) // 2
    mixed = tmp_path / "mixed.log"
    mixed.write_text(
        "\n".join([*(f"node=db7 {line}" for line in lines[:half]), *lines[half:]]) + "\n",
        encoding="utf-8",
    )
    alerts, _ = scan(str(mixed), "--host", "web1", "--jobs", "1")
    hosts = {alert["host"]["name"] for alert in alerts}
    assert hosts == {"db7", "web1"}
    for alert in alerts:
        assert {e["host"] for e in alert["detect"]["events"]} == {alert["host"]["name"]}


def test_incidents_carry_the_host(tmp_path: Path) -> None:
    path = tmp_path / "incidents.jsonl"
    scan(str(CAPTURE), "--host", "web1", "--incidents", str(path))
    incidents = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert incidents
    assert {incident["host"]["name"] for incident in incidents} == {"web1"}


def test_events_takes_host_for_records_without_node() -> None:
    result = CliRunner().invoke(main, ["events", str(CAPTURE), "--host", "web1"])
    assert result.exit_code == 0, result.output
    events = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert events and {event["host"] for event in events} == {"web1"}
