"""Correlations that group across hosts run after the merge (detect.correlation.placement):
one capture's events dealt to two hosts, so that neither host alone has the five refused reads
of /etc/shadow the shipped (per-host) correlation needs, but the two together do."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from detect.cli.commands import main

from .conftest import TESTS

CAPTURE = TESTS / "correlation" / "captures" / "shadow_read_failures.log"
HOSTS = ("east", "west")
SHIPPED = "d01def29-a213-4406-b07b-e693601cfb38"  # per host: group-by host.name, uid
ACROSS = "5d0c6f2e-3a41-4b8e-9f07-2c1d8e6b4a93"
ON_HOSTS = "8e2a4c61-7f3b-4d95-a1c8-0b6e9d2f5a47"
RULES = f"""\
title: Refused Reads of /etc/shadow by One Uid across Hosts
id: {ACROSS}
status: test
correlation:
    type: event_count
    rules:
        - shadow_read_denied
    group-by:
        - uid
    timespan: 1m
    condition:
        gte: 5
    generate: true
level: high
---
title: Refused Reads of /etc/shadow by One Uid on Two Hosts
id: {ON_HOSTS}
status: test
correlation:
    type: value_count
    rules:
        - shadow_read_denied
    group-by:
        - uid
    timespan: 1m
    condition:
        field: host.name
        gte: 2
level: medium
"""
SERIAL = re.compile(r"msg=audit\(\d+\.\d+:(\d+)\)")


@pytest.fixture(scope="module")
def dealt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The capture's events dealt in turn to east and west (each event whole), one file each,
    and a rule file of two correlations without the host in their group-by."""
    root = tmp_path_factory.mktemp("dealt")
    serials: list[str] = []
    files: dict[str, list[str]] = {host: [] for host in HOSTS}
    for line in CAPTURE.read_text(encoding="utf-8").splitlines(keepends=True):
        match = SERIAL.search(line)
        assert match is not None, line
        if match.group(1) not in serials:
            serials.append(match.group(1))
        host = HOSTS[serials.index(match.group(1)) % 2]
        files[host].append(f"node={host} {line}")
    logs = root / "logs"
    logs.mkdir()
    for host, lines in files.items():
        (logs / f"{host}.log").write_text("".join(lines), encoding="utf-8")
    (root / "across.yml").write_text(RULES, encoding="utf-8")
    return root


def scan(dealt: Path, *options: str) -> tuple[str, dict[str, Any]]:
    summary = dealt / f"summary{'-'.join(options)}.json"
    args = ["scan", str(dealt / "logs"), "--rules", str(dealt / "across.yml"), "--no-progress"]
    result = CliRunner().invoke(
        main, [*args, "--summary-json", str(summary), *options], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    document = json.loads(summary.read_text())
    for volatile in ("seconds", "records_per_second"):
        document.pop(volatile)
    return result.stdout, document


def alerts_of(output: str, rule: str) -> list[dict[str, Any]]:
    alerts = [orjson.loads(line) for line in output.splitlines()]
    return [alert for alert in alerts if alert["rule"]["id"] == rule]


@pytest.fixture(scope="module")
def one_job(dealt: Path) -> tuple[str, dict[str, Any]]:
    return scan(dealt, "--jobs", "1")


def test_hosts_alone_do_not_reach_the_count(one_job: tuple[str, dict[str, Any]]) -> None:
    assert alerts_of(one_job[0], SHIPPED) == []


def test_the_merge_joins_the_hosts(one_job: tuple[str, dict[str, Any]]) -> None:
    output, summary = one_job
    (alert,) = alerts_of(output, ACROSS)
    correlation = alert["correlation"]
    assert correlation["group"] == {"uid": "65534"}
    assert correlation["value"] == 5.0
    assert correlation["hosts"] == list(HOSTS)
    assert "host" not in alert  # no one host: the hosts are in correlation.hosts
    assert {event["host"] for event in alert["detect"]["events"]} == set(HOSTS)
    distinct = alerts_of(output, ON_HOSTS)  # fires at each second host (its hits consumed)
    assert distinct
    assert all(alert["correlation"]["value"] == 2.0 for alert in distinct)
    label = f"Refused Reads of /etc/shadow by One Uid across Hosts ({ACROSS})"
    assert summary["alerts_by_rule"][label] == 1, summary["alerts_by_rule"]
    assert summary["correlations"]["loaded"] == 8  # six shipped, two here


def test_two_jobs_write_the_same(dealt: Path, one_job: tuple[str, dict[str, Any]]) -> None:
    assert scan(dealt, "--jobs", "2") == one_job


def test_one_stream_gives_the_same_alert(dealt: Path, one_job: tuple[str, dict[str, Any]]) -> None:
    """Read as one stream (standard input: not partitioned), every correlation runs in one
    pipeline over both hosts: the same alert as the merge's."""
    text = "".join((dealt / "logs" / f"{host}.log").read_text(encoding="utf-8") for host in HOSTS)
    args = ["scan", "-", "--rules", str(dealt / "across.yml"), "--no-progress"]
    result = CliRunner().invoke(main, args, input=text, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    (merged,) = alerts_of(one_job[0], ACROSS)
    (streamed,) = alerts_of(result.stdout, ACROSS)
    assert streamed == merged


def test_a_local_dask_cluster_writes_the_same(
    dealt: Path, one_job: tuple[str, dict[str, Any]]
) -> None:
    """Two worker processes: the exported hits travel back pickled, as on a real cluster."""
    pytest.importorskip("distributed")
    assert scan(dealt, "--dask", "local", "--jobs", "2") == one_job


def test_the_text_view_names_the_hosts_of_a_cross_host_incident(dealt: Path) -> None:
    args = ["scan", str(dealt / "logs"), "--rules", str(dealt / "across.yml"), "--no-progress"]
    result = CliRunner().invoke(main, [*args, "--format", "text"], catch_exceptions=False)
    headings = [line for line in result.stdout.splitlines() if " incident (score " in line]
    assert any(" on east, west, " in line for line in headings), headings  # was "on -"
    assert any(" on east, " in line and "west" not in line for line in headings), headings
