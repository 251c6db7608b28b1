"""`--jobs N` and `--dask` write what `--jobs 1` writes: the same alerts, incidents and
summary, in the same order, over a multi-host archive of real captures."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from detect.cli.commands import main
from detect.outputs.alerts import ALERT_WRITERS
from detect.pipeline.factory import PipelineSettings, load_rules, scan_files
from detect.pipeline.parallel import Parallelism, PartitionError, scan_parallel
from detect.triage.settings import TriageSettings

VOLATILE = ("seconds", "records_per_second")


def run_scan(archive: Path, tmp_path: Path, *options: str) -> dict[str, object]:
    name = "-".join(option.strip("-") for option in options).replace("/", "_")
    incidents, summary = tmp_path / f"{name}.incidents", tmp_path / f"{name}.summary"
    args = ["scan", str(archive), "--no-progress", "--incidents", str(incidents)]
    result = CliRunner().invoke(
        main, [*args, "--summary-json", str(summary), *options], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output  # alerts
    document = json.loads(summary.read_text())
    for key in VOLATILE:
        document.pop(key)
    return {
        "alerts": result.stdout,
        "incidents": incidents.read_text(),
        "summary": document,
    }


@pytest.fixture(scope="module")
def one_job(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return run_scan(archive, tmp_path_factory.mktemp("one"), "--jobs", "1")


def test_one_job_finds_alerts_and_incidents_on_several_hosts(one_job: dict[str, object]) -> None:
    alerts = [orjson.loads(line) for line in str(one_job["alerts"]).splitlines()]
    hosts = {alert["host"]["name"] for alert in alerts if "host" in alert}
    assert len(hosts) >= 2, hosts
    assert any("correlation" in alert for alert in alerts)  # beta's shadow reads
    # the captures do not overlap in time: merged by audit time, each host is one block
    names = [alert.get("host", {}).get("name", "") for alert in alerts]
    blocks = [host for host, _ in itertools.groupby(names)]
    first = {host: names.index(host) for host in blocks}
    first = {host: alerts[index]["@timestamp"] for host, index in first.items()}
    hosts = set(blocks)
    assert blocks == sorted(hosts, key=first.__getitem__)
    assert blocks != sorted(hosts)  # not merely by host name
    assert str(one_job["incidents"]).count("\n") >= 2
    summary = one_job["summary"]
    assert isinstance(summary, dict)
    assert summary["files"] == 4
    assert summary["alerts"] == len(alerts)


@pytest.mark.parametrize("jobs", ["2", "3", "8"])
def test_more_jobs_write_the_same(
    archive: Path, tmp_path: Path, one_job: dict[str, object], jobs: str
) -> None:
    assert run_scan(archive, tmp_path, "--jobs", jobs) == one_job


def test_text_view_is_the_same(archive: Path) -> None:
    outputs = []
    for jobs in ("1", "2"):
        args = ["scan", str(archive), "--format", "text", "--no-progress", "--jobs", jobs]
        outputs.append(CliRunner().invoke(main, args).stdout)
    assert outputs[0] == outputs[1]
    assert "incidents from" in outputs[0]


def test_dask_local_cluster_writes_the_same(
    archive: Path, tmp_path: Path, one_job: dict[str, object]
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert len(cluster.workers) == 2
        got = run_scan(archive, tmp_path, "--dask", cluster.scheduler_address)
    assert got == one_job


def test_one_host_is_scanned_as_before(archive: Path) -> None:
    """A single host's partition is the sequential scan, line for line."""
    settings = PipelineSettings(triage=TriageSettings())
    rules = load_rules(settings)
    outputs = []
    for run in (scan_files, scan_parallel):
        lines: list[bytes] = []
        writer = ALERT_WRITERS["jsonl"](_Collect(lines))
        run([str(archive / "gamma")], rules, writer, settings)
        outputs.append(b"".join(lines))
    assert outputs[0] and outputs[0] == outputs[1]


class _Collect:
    def __init__(self, into: list[bytes]) -> None:
        self.into = into

    def write(self, text: str) -> int:
        self.into.append(text.encode())
        return len(text)

    def flush(self) -> None:
        return None


def test_a_failed_partition_is_named(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import detect.pipeline.parallel as parallel

    real = parallel.run_bundle

    def failing(bundle, rules, settings, report=None):  # type: ignore[no-untyped-def]
        if "beta" in bundle.hosts:
            raise RuntimeError("worker lost")
        return real(bundle, rules, settings, report)

    monkeypatch.setattr(parallel, "run_bundle", failing)
    settings = PipelineSettings()
    with pytest.raises(PartitionError, match=r"hosts .*beta.* failed: RuntimeError"):
        scan_parallel([str(archive)], load_rules(settings), print, settings, None, Parallelism(2))
