"""The rule-count benchmark's rule sets: the seeds as written, then distinct variants that load."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bench.rules import distinct, variant, write_ruleset
from detect.matching.engine import Engine
from detect.sigma.load import load_detections


def test_a_variant_has_its_own_id_title_and_values_but_keeps_types_and_cidrs() -> None:
    seed = {
        "title": "T",
        "id": "00000000-0000-4000-8000-000000000001",
        "detection": {
            "sel": {"type": "EXECVE", "a0|endswith": ["/curl", "/wget"], "addr|cidr": "10.0.0.0/8"},
            "condition": "sel",
        },
    }
    one, two = variant(seed, 1), variant(seed, 2)
    assert len({seed["id"], one["id"], two["id"]}) == 3
    assert one["title"] == "T (variant 1)"
    assert one["detection"] == {
        "sel": {
            "type": "EXECVE",
            "a0|endswith": ["/curl~v1", "/wget~v1"],
            "addr|cidr": "10.0.0.0/8",
        },
        "condition": "sel",
    }
    assert distinct(seed)
    assert not distinct({"detection": {"sel": {"type": "DEL_USER"}, "condition": "sel"}})


def test_a_rule_set_past_the_seeds_loads_whole_with_unique_ids(tmp_path: Path) -> None:
    out = write_ruleset(400, tmp_path / "rules")  # SigmaHQ's Linux rules and ours: ~320 seeds
    seeds = json.loads((out / "rules.json").read_text(encoding="utf-8"))["seeds"]
    assert 0 < seeds < 380
    files = sorted(out.glob("*.yml"))
    assert len(files) == 400
    loaded = load_detections([out], default=False)
    assert not loaded.errors and not loaded.warnings
    assert len({rule.id for rule in loaded.rules}) == 400
    engine = Engine(loaded.rules)
    assert engine.applicable == 400
    assert yaml.safe_load(files[-1].read_text(encoding="utf-8"))["title"].endswith("(variant 1)")


def test_the_seeds_alone_are_every_seed_as_written(tmp_path: Path) -> None:
    out = write_ruleset(None, tmp_path / "seeds")
    meta = json.loads((out / "rules.json").read_text(encoding="utf-8"))
    files = sorted(out.glob("*.yml"))
    assert meta["count"] == meta["seeds"] == len(files) > 0
    assert not any("(variant" in path.read_text(encoding="utf-8") for path in files)


def test_a_set_with_few_real_rules_has_them_first_then_variants_only(tmp_path: Path) -> None:
    out = write_ruleset(40, tmp_path / "few", real=10)
    meta = json.loads((out / "rules.json").read_text(encoding="utf-8"))
    assert meta["count"] == 40 and meta["real"] == 10
    files = sorted(out.glob("*.yml"))
    titles = [yaml.safe_load(path.read_text(encoding="utf-8"))["title"] for path in files]
    assert len(titles) == 40
    assert not any("(variant" in title for title in titles[:10])
    assert all(title.endswith("(variant 1)") for title in titles[10:])
    assert write_ruleset(40, tmp_path / "few", real=10) == out  # reused as it is
    loaded = load_detections([out], default=False)
    assert not loaded.errors and len({rule.id for rule in loaded.rules}) == 40
