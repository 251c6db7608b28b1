from __future__ import annotations

from pathlib import Path

from detect.pipeline.factory import PipelineSettings, load_rules
from detect.pipeline.hostscan import BundleScan, run_bundle
from detect.pipeline.partition import (
    NO_HOST,
    host_of,
    make_bundles,
    partitionable,
    plan_inputs,
    probe_file,
)
from tests.parallel.conftest import CAPTURES, UNNAMED


def test_host_of_reads_the_node_prefix() -> None:
    assert host_of("node=web-1 type=SYSCALL msg=audit(1.0:1): x=1") == "web-1"
    assert host_of("type=SYSCALL msg=audit(1.0:1): x=1") == NO_HOST
    assert host_of("node=broken") == NO_HOST


def test_probe_counts_each_hosts_lines(archive: Path) -> None:
    probe = probe_file(str(archive / "mixed.log"))
    alpha = len(CAPTURES["alpha"].read_text().splitlines())
    beta = len(CAPTURES["beta"].read_text().splitlines())
    assert probe.lines == {"alpha": alpha, "beta": beta}
    assert probe.size == (archive / "mixed.log").stat().st_size
    unnamed = probe_file(str(archive / "local.log"))
    assert unnamed.lines == {NO_HOST: len(UNNAMED.read_text().splitlines())}


def test_plan_keeps_a_hosts_files_in_rotation_order(archive: Path) -> None:
    plan = plan_inputs([str(archive)])
    by_host = {p.host: p for p in plan.partitions}
    assert sorted(by_host) == [NO_HOST, "alpha", "beta", "gamma"]
    assert [Path(f).name for f in by_host["gamma"].files] == ["audit.log.1", "audit.log"]
    assert by_host["alpha"].files == by_host["beta"].files == [str(archive / "mixed.log")]


def test_unreadable_inputs_are_reported(tmp_path: Path) -> None:
    plan = plan_inputs([str(tmp_path / "missing.log")])
    assert plan.partitions == []
    assert plan.stats.errors == [f"{tmp_path / 'missing.log'}: no such file, folder or match"]


def test_bundles_balance_lines_and_cover_every_host_once(archive: Path) -> None:
    plan = plan_inputs([str(archive)])
    for workers in (1, 2, 3, 8):
        bundles = make_bundles(plan, workers)
        assert len(bundles) == min(workers, len(plan.partitions))
        hosts = [p.host for bundle in bundles for p in bundle.partitions]
        assert sorted(hosts) == sorted(p.host for p in plan.partitions)
    two = make_bundles(plan, 2)
    loads = sorted(bundle.lines for bundle in two)
    biggest = max(p.lines for p in plan.partitions)
    assert loads[1] - loads[0] <= biggest  # greedy: never worse than one partition apart
    mixed = [b for b in two if str(archive / "mixed.log") in {p.path for p in b.probes}]
    assert mixed, "the mixed file is read by the bundles of its hosts"


def test_a_bundles_trees_share_one_bound_of_cached_fields(archive: Path) -> None:
    """The host pipelines of a bundle cache their process-tree fields within one bound, as one
    tree of all their hosts would (eight hosts held eight times as many before)."""
    (bundle,) = make_bundles(plan_inputs([str(archive)]), 1)
    settings = PipelineSettings()
    scans = BundleScan(bundle, load_rules(settings), settings).hosts.values()
    trees = [scan.scan.engine.tree for scan in scans]
    assert len(trees) > 1 and all(tree is not None for tree in trees)
    assert len({id(tree.epoch.cache) for tree in trees if tree is not None}) == 1
    assert len({id(tree) for tree in trees}) == len(trees)  # each host its own tree


def test_stdin_is_not_partitioned() -> None:
    assert not partitionable([])
    assert not partitionable(["-"])
    assert partitionable(["a.log"])


def test_host_option_names_the_unnamed_lines(tmp_path: Path) -> None:
    """`--host beta` over a file that mixes `node=alpha`, `node=beta` and unnamed lines: the
    unnamed ones are beta's, in beta's one pipeline (its tree and correlations see them all)."""
    alpha = CAPTURES["alpha"].read_text().splitlines(keepends=True)
    beta = CAPTURES["beta"].read_text().splitlines(keepends=True)
    half = len(beta) // 2
    named = [f"node=alpha {line}" for line in alpha] + [f"node=beta {line}" for line in beta[:half]]
    mixed = tmp_path / "mixed.log"
    mixed.write_text("".join(named + beta[half:]))
    plan = plan_inputs([str(mixed)], unnamed="beta")
    assert [(p.host, p.lines) for p in plan.partitions] == [
        ("alpha", len(alpha)),
        ("beta", len(beta)),
    ]
    settings = PipelineSettings(host="beta")
    (bundle,) = make_bundles(plan, 1)
    hosts = run_bundle(bundle, load_rules(settings), settings).hosts
    assert {h.host: h.counts.reassembly["records"] for h in hosts} == {
        "alpha": len(alpha),
        "beta": len(beta),
    }
    assert NO_HOST in {p.host for p in plan_inputs([str(mixed)]).partitions}  # no --host
