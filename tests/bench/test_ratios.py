"""The ratios of the benchmark report: rule counts over 10 rules and apart from the seeds,
and peak RSS over input size."""

from __future__ import annotations

from bench.run import Measurement, format_flatness, format_medians, format_ratios


def _run(stage: str, wall: float, cpu: float, rules: int) -> Measurement:
    extra = {"rules_loaded": rules}
    return Measurement(stage, stage, "c.log", 100, 10, wall, wall, 1, None, cpu, extra)


def test_the_count_is_measured_over_10_rules_and_over_the_seeds_alone() -> None:
    results = [
        _run("rules_10", 10.0, 8.0, 10),
        _run("rules_seeds", 15.0, 12.0, 321),
        _run("rules_5000", 18.0, 13.2, 5000),
    ]
    lines = format_ratios(results).splitlines()
    assert lines == [
        "c.log: 5,000 rules / 10 rules: wall 1.80x, CPU 1.65x (target <= 1.3) MISS",
        "c.log: seeds (321 rules) / 10 rules: wall 1.50x, CPU 1.50x",
        "c.log: 5,000 rules / seeds (321 rules): wall 1.20x, CPU 1.10x",
    ]


def test_without_the_seeds_stage_only_the_ratio_over_10_rules() -> None:
    results = [_run("rules_10", 10.0, 8.0, 10), _run("rules_1000", 11.0, 8.0, 1000)]
    assert format_ratios(results) == "c.log: 1,000 rules / 10 rules: wall 1.10x, CPU 1.00x"


def test_rounds_give_each_ratio_per_round_and_its_median() -> None:
    results = []
    for round_, (few, many) in enumerate([(10.0, 12.0), (10.0, 15.0), (8.0, 9.6)]):
        for stage, wall in (("rules_10", few), ("rules_5000_real10", many)):
            measured = _run(stage, wall, wall, 10)
            measured.round = round_
            results.append(measured)
    assert format_medians(results) == (
        "c.log: rules_5000_real10 / rules_10, wall: 1.20 / 1.50 / 1.20 "
        "(median 1.20x, target <= 1.3) ok"
    )


def test_peak_rss_is_flat_only_within_the_limit_from_smallest_to_largest() -> None:
    def run(stage: str, records: int, rss: float) -> Measurement:
        return Measurement(
            stage, stage, f"{records}.log", records, 1, 1.0, 1.0, round(rss * 1024), None
        )

    results = [
        run("flat", 250_000, 60.0),
        run("grows", 2_000_000, 70.8),
        run("flat", 2_000_000, 66.0),
        run("grows", 250_000, 60.0),
    ]
    assert format_flatness(results).splitlines() == [
        "flat                             peak RSS 60.0 MB at 250,000, 66.0 MB at 2,000,000 "
        "(1.10x, target <= 1.10x) flat",
        "grows                            peak RSS 60.0 MB at 250,000, 70.8 MB at 2,000,000 "
        "(1.18x, target <= 1.10x) MISS (not flat)",
    ]
