"""Reports of the real capture tests/triage/captures/host_day.log (a host's services, an
administrator's session and three attacks; its .md says how it was made), written the two ways
a user writes them: `detect scan --html` and `detect report` over the scan's JSON lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from detect.cli.commands import main

CAPTURE = Path(__file__).resolve().parents[1] / "triage" / "captures" / "host_day.log"
HOSTS = 8  # copies of the capture, one per host, for a report with dozens of incidents


@dataclass(frozen=True)
class Scanned:
    html: Path
    alerts: Path
    incidents: Path
    summary: Path


def scan(folder: Path, *inputs: Path) -> Scanned:
    out = Scanned(
        folder / "report.html",
        folder / "alerts.jsonl",
        folder / "incidents.jsonl",
        folder / "summary.json",
    )
    args = [
        "scan", *map(str, inputs), "--html", str(out.html), "--output", str(out.alerts),
        "--incidents", str(out.incidents), "--summary-json", str(out.summary),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # 1: alerts found
    return out


def many_hosts(folder: Path) -> list[Path]:
    """The capture once per host: each line prefixed with `node=host-NN` (the dispatcher's
    format), so every host has the capture's incidents."""
    lines = CAPTURE.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    paths = []
    for n in range(1, HOSTS + 1):
        path = folder / f"host-{n:02}.log"
        path.write_text(
            "".join(f"node=host-{n:02} {line}\n" for line in lines),
            encoding="utf-8",
            errors="surrogateescape",
        )
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def host_day(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    return scan(tmp_path_factory.mktemp("host_day"), CAPTURE)


@pytest.fixture(scope="session")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    folder = tmp_path_factory.mktemp("busy")
    return scan(folder, *many_hosts(folder))
