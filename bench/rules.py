"""Rule sets of any size for the rule-count benchmark: real rules, then variants of them.

`python -m bench.rules --count 5000 --out bench/out/rules-5000` writes `--count` rule files
(`--seeds`: the seeds alone, into bench/out/rules-seeds). The
seeds are the rules that load and that audit logs can feed (`detect scan` would run them): the
shipped detections and SigmaHQ's Linux rules (`bench.run.SIGMA_LINUX` under ../shared/sigma),
single-document rules only (correlations and `action:` collections name other rules). The
first rules are the seeds' files as written; then come variants, round after round, of each
seed whose every search has a string to tag (`distinct`). Variant k has a fresh id (uuid5 of
the seed's id and k), `(variant k)` in its title, and every string of its detection tagged
with `~vk` at its end (but record `type`s, a fixed vocabulary), so its literal values differ
from every other rule's (the rule index keys them apart, as it would a real set of thousands
of distinct rules), while its shape (fields, modifiers, condition) stays the seed's. CIDR,
placeholder (`expand`) and non-string values stay as written. So 10 and 100 rules are real
rules only, 1,000 and 5,000 mostly variants. `--real N` writes only the first N seeds as
written, then variants (of every seed): `--count 5000 --real 10` is the 10-rule set and 4,990
rules that never fire, so it raises the same alerts as the 10 rules and the two differ by the
count alone (the full sets also differ by what the 311 other real rules find and alert on). The
set is written once and reused while the seeds are unchanged (`rules.json` in the folder records
the count, the real rules and a digest of the seeds),
then loaded once (unless `--cold`) so that detect's rule caches hold it: a measured scan loads
as every run of a rule set after its first does (docs/rule-loading.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
SIGMA = ROOT.parent / "shared" / "sigma"
SIGMA_LINUX = ("rules/linux", "rules-threat-hunting/linux", "rules-emerging-threats")
KEPT_MODIFIERS = frozenset(("cidr", "expand", "exists", "fieldref", "gt", "gte", "lt", "lte"))
KEPT_FIELDS = frozenset(("type",))  # record types are a fixed vocabulary, not rule literals
VERSION = 3  # bump when the way variants are made changes


def seed_files() -> list[Path]:
    """Files of the rules `detect scan` would run (loaded, applicable), in load order."""
    from detect.matching.engine import Engine
    from detect.pipeline.factory import load_checked

    paths = [SIGMA / part for part in SIGMA_LINUX if (SIGMA / part).is_dir()]
    rules = load_checked(paths, default=True)
    engine = Engine(rules.rules)
    skipped = {id(rule) for rule in engine.not_applicable}
    files: list[Path] = []
    for rule in rules.rules:
        path = Path(rule.source.source)
        if id(rule) in skipped or path in files:
            continue
        text = path.read_text(encoding="utf-8")
        if "\n---" in text or "correlation:" in text or "action:" in text:
            continue
        files.append(path)
    return files


def variant(document: dict[str, Any], k: int) -> dict[str, Any]:
    """Variant `k` of a rule document (k > 0): fresh id, title, tagged detection strings."""
    out = dict(document)
    out["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{document.get('id')}/{k}"))
    out["title"] = f"{document.get('title', '')} (variant {k})"
    out.pop("related", None)
    out.pop("name", None)
    tag = f"~v{k}"
    detection = dict(document["detection"])
    for name, value in detection.items():
        if name != "condition":
            detection[name] = _tagged(value, tag, kept=False)
    out["detection"] = detection
    return out


def distinct(document: dict[str, Any]) -> bool:
    """Whether tagging changes every search of the rule: a search of record types alone
    (`type: DEL_USER`) would make every variant fire where the seed fires, as no real rule
    set of thousands of distinct rules does; such seeds give no variants."""
    detection = document["detection"]
    return all(
        _tagged(value, "~v", kept=False) != value
        for name, value in detection.items()
        if name != "condition"
    )


def _tagged(value: Any, tag: str, kept: bool) -> Any:
    if isinstance(value, dict):
        return {key: _tagged(item, tag, kept or _keeps(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_tagged(item, tag, kept) for item in value]
    if isinstance(value, str) and not kept and "%" not in value:
        return value + tag
    return value


def _keeps(key: object) -> bool:
    if not isinstance(key, str):
        return False
    field, *modifiers = key.split("|")
    return field in KEPT_FIELDS or bool(KEPT_MODIFIERS.intersection(modifiers))


def digest(files: Sequence[Path]) -> str:
    hasher = hashlib.sha256(str(VERSION).encode())
    for path in files:
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def write_ruleset(count: int | None, out: Path, real: int | None = None) -> Path:
    """`count` rule files in `out` (reused when `rules.json` says they were made the same way);
    None: the seeds alone, as many as there are. `real`: how many seeds come as written before
    the variants (default: all of them, up to `count`)."""
    files = seed_files()
    count = len(files) if count is None else count
    real = min(len(files), count if real is None else real)
    meta = {"count": count, "seeds": len(files), "digest": digest(files), "version": VERSION}
    if real < min(len(files), count):
        meta["real"] = real
    stamp = out / "rules.json"
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == meta:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    seeds = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in files]
    varied = [i for i, seed in enumerate(seeds) if distinct(seed)]
    for i in range(count):
        if i < real:
            shutil.copyfile(files[i], out / f"{i:05d}-{files[i].stem}.yml")
            continue
        k, at = divmod(i - real, len(varied))
        seed = varied[at]
        text = yaml.safe_dump(variant(seeds[seed], k + 1), sort_keys=False, allow_unicode=True)
        (out / f"{i:05d}-{files[seed].stem}.yml").write_text(text, encoding="utf-8")
    stamp.write_text(json.dumps(meta) + "\n", encoding="utf-8")
    return out


def ruleset_path(count: int | None, real: int | None = None) -> Path:
    name = "seeds" if count is None else str(count)
    return OUT_DIR / (f"rules-{name}" if real is None else f"rules-{name}-real{real}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rules", description=__doc__.split("\n")[0]
    )
    how_many = parser.add_mutually_exclusive_group(required=True)
    how_many.add_argument("--count", type=int)
    how_many.add_argument(
        "--seeds", action="store_true", help="the seeds alone (real rules, no variant)"
    )
    parser.add_argument(
        "--real",
        type=int,
        default=None,
        help="only the first REAL seeds as written, then variants (default: every seed)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: bench/out/rules-COUNT (rules-COUNT-realREAL, rules-seeds)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="do not load the set to fill the rule caches (the seeds are loaded to be found,"
        " and their files fill them, either way)",
    )
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 1:
        parser.error("--count must be at least 1")
    if args.real is not None and (args.count is None or not 0 <= args.real <= args.count):
        parser.error("--real goes with --count, from 0 to the count")
    out = write_ruleset(args.count, args.out or ruleset_path(args.count, args.real), args.real)
    count = json.loads((out / "rules.json").read_text(encoding="utf-8"))["count"]
    if not args.cold:
        warm_caches(out)
    sys.stdout.write(f"{count} rules in {out}\n")
    return 0


def warm_caches(out: Path) -> None:
    """Load the set once as `detect scan` does, so that the caches of parsed and compiled rules
    hold it (detect.sigma.cache, detect.sigma.compiled; docs/rule-loading.md): the measured
    scan then loads as every run after a rule set's first does."""
    from detect.pipeline.factory import load_checked

    load_checked([out], default=False)


if __name__ == "__main__":
    sys.exit(main())
