"""A host the probe's samples miss is found by the bundles that read its lines and scanned
again, whole, so that `--jobs N` and `--dask` still write what `--jobs 1` writes. The samples
are made small here (a few windows of a few KiB) and the archive is laid out so that they miss
two hosts of real captures: `delta`, whose lines all sit between two windows of a shared file
(no bundle owns it), and `gamma`, whose own file is probed whole but whose earlier lines sit
unseen in the shared file (its bundle does not read that file)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from detect.cli.commands import main
from detect.pipeline import hostscan, parallel, probe
from detect.pipeline.factory import PipelineSettings, load_rules
from detect.pipeline.parallel import Parallelism, PartitionError, scan_parallel
from detect.pipeline.partition import Plan, plan_inputs

from .conftest import CAPTURES, UNNAMED, prefixed
from .test_identical import run_scan


@pytest.fixture
def small_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "WHOLE", 64 << 10)
    monkeypatch.setattr(probe, "WINDOWS", 4)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    alpha, beta, gamma = prefixed("alpha"), prefixed("beta"), prefixed("gamma")
    delta = [f"node=delta {line}" for line in UNNAMED.read_text().splitlines(keepends=True)]
    shared = [line for pair in zip(alpha, beta, strict=False) for line in pair]
    shared += alpha[len(beta) :] + beta[len(alpha) :]
    half = len(gamma) // 2
    # byte windows at 0, 1/3, 2/3 and the end: gamma's first half at ~45%, delta's at ~80%
    at_gamma, at_delta = len(shared) * 45 // 100, len(shared) * 80 // 100
    lines = shared[:at_gamma] + gamma[:half] + shared[at_gamma:at_delta] + delta
    lines += shared[at_delta:]
    (root / "fleet.log").write_text("".join(lines), encoding="utf-8")
    (root / "gamma.log").write_text("".join(gamma[half:]), encoding="utf-8")
    return root


def test_the_samples_miss_two_hosts(fleet: Path, small_samples: None) -> None:
    plan = plan_inputs([str(fleet)])
    hosts = {partition.host: partition.files for partition in plan.partitions}
    assert hosts == {
        "alpha": [str(fleet / "fleet.log")],
        "beta": [str(fleet / "fleet.log")],
        "gamma": [str(fleet / "gamma.log")],
    }
    assert not plan.probes[str(fleet / "fleet.log")].exact
    assert CAPTURES["gamma"].exists()


@pytest.fixture
def rescanned(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The hosts each round scans again."""
    rounds: list[set[str]] = []
    real = parallel.replan

    def spy(*args: Any) -> Plan | None:
        again = real(*args)
        if again is not None:
            rounds.append({partition.host for partition in again.partitions})
        return again

    monkeypatch.setattr(parallel, "replan", spy)
    return rounds


@pytest.fixture
def one_job(fleet: Path, tmp_path: Path) -> dict[str, object]:
    return run_scan(fleet, tmp_path, "--jobs", "1")


@pytest.mark.parametrize(("jobs", "missed"), [("2", {"delta"}), ("3", {"delta", "gamma"})])
def test_missed_hosts_are_scanned_again(
    fleet: Path,
    tmp_path: Path,
    small_samples: None,
    rescanned: list[set[str]],
    one_job: dict[str, object],
    jobs: str,
    missed: set[str],
) -> None:
    """Two jobs: gamma shares a bundle with a host of the shared file, which feeds gamma's
    lines there to gamma's pipeline; three: gamma's bundle reads only gamma.log."""
    assert rescanned == []  # one job: one open bundle, not probed
    got = run_scan(fleet, tmp_path, "--jobs", jobs)
    assert rescanned == [missed]
    assert got == one_job
    assert got["summary"]["records"] == lines_of(fleet)  # type: ignore[index]


def test_a_rescan_draws_its_progress(fleet: Path, tmp_path: Path, small_samples: None) -> None:
    args = ["scan", str(fleet), "--jobs", "2", "--progress", "--output", str(tmp_path / "a")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output  # alerts
    first, _, again = result.stderr.partition("rescan")
    assert "total" in first and "worker 2" in first
    assert again, result.stderr  # the bars of the hosts scanned again, after the first
    assert "records" in again


def lines_of(root: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in root.iterdir())


def test_a_dask_cluster_scans_missed_hosts_again(
    fleet: Path,
    tmp_path: Path,
    small_samples: None,
    rescanned: list[set[str]],
    one_job: dict[str, object],
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        got = run_scan(fleet, tmp_path, "--dask", cluster.scheduler_address)
    assert rescanned == [{"delta", "gamma"}]  # a task per host: gamma's reads gamma.log
    assert got == one_job
    assert got["summary"]["records"] == lines_of(fleet)  # type: ignore[index]


def test_a_file_that_keeps_growing_new_hosts_stops_the_scan(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every round, a host the file did not have is written to it as it is read (a log still
    being written by a collector): after MAX_ROUNDS the scan fails, naming the hosts."""
    grown = tmp_path / "grown.log"
    grown.write_text((archive / "mixed.log").read_text())
    real = hostscan.BundleScan.run

    def growing(self: hostscan.BundleScan) -> hostscan.BundleResult:
        if self.bundle.index == 0:  # each round's workers are new processes: a name of its own
            name = f"late{time.monotonic_ns()}"
            with grown.open("a") as out:
                out.writelines(f"node={name} {line[11:]}" for line in prefixed("beta"))
        return real(self)

    monkeypatch.setattr(hostscan.BundleScan, "run", growing)
    settings = PipelineSettings()
    with pytest.raises(PartitionError, match=r"changed while it was read: new lines of late\d+$"):
        scan_parallel([str(grown)], load_rules(settings), print, settings, None, Parallelism(2))
    assert grown.read_text().count("node=late") == (parallel.MAX_ROUNDS + 1) * len(prefixed("beta"))
