#!/usr/bin/env python3
"""Write docs/sigma-compatibility.md: how detect loads SigmaHQ's Linux rules.

    .venv/bin/python scripts/sigma_compat.py            # rewrites docs/sigma-compatibility.md
    .venv/bin/python scripts/sigma_compat.py --check    # exit 1 if the committed report is stale

Input: the SigmaHQ snapshot in ../shared/sigma (see its SOURCE.txt), read in place. In scope:
every rule under `rules/linux` and `rules-threat-hunting/linux`, and the rules under
`rules-emerging-threats` whose logsource names `product: linux` (emerging threats cover every
platform; the others are counted as out of scope, not loaded). Rules are loaded as `detect scan`
loads them (`detect.sigma.load.load_detections`: pySigma, the field mapping pipelines,
compilation). For each loaded rule the report says which view runs it
(`detect.matching.dispatch.view_of`) and lists the fields its logsource cannot produce
(`detect.authoring.validate.rule_problems`). `unsupported/` holds rules
SigmaHQ itself no longer supports (the old aggregation syntax): each must be rejected with a
clear message, and the report lists the message. `deprecated/` is not read.

Same snapshot and code, same bytes: paths are relative to the snapshot, lists are sorted,
nothing depends on time.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from detect.authoring.validate import rule_problems
from detect.matching.dispatch import view_of
from detect.sigma.load import load_detections
from detect.sigma.model import Rule

REPO = Path(__file__).resolve().parents[1]
SIGMA = REPO.parent / "shared" / "sigma"
REPORT = REPO / "docs" / "sigma-compatibility.md"
IN_SCOPE = ("rules/linux", "rules-threat-hunting/linux")
EMERGING = "rules-emerging-threats"
UNSUPPORTED = "unsupported"
PRODUCT = "linux"
SUFFIXES = (".yml", ".yaml")


@dataclass
class Outcome:
    """What loading one rule file gave."""

    path: str  # relative to the snapshot
    logsource: str
    title: str = ""
    errors: list[str] = field(default_factory=list)  # `line: reason`; not loaded when any
    view: str | None = None  # the view that runs it; None: audit logs do not feed it
    fields: list[str] = field(default_factory=list)  # `line: severity: message`

    @property
    def loaded(self) -> bool:
        return not self.errors


def rule_files(root: Path, folder: str) -> list[Path]:
    base = root / folder
    return sorted(p for p in base.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def logsource_of(data: dict[str, Any]) -> dict[str, str]:
    source = data.get("logsource")
    return {k: str(v) for k, v in source.items()} if isinstance(source, dict) else {}


def logsource_label(source: dict[str, str]) -> str:
    parts = [f"{key}: {source[key]}" for key in ("product", "category", "service") if key in source]
    return ", ".join(parts) or "(none)"


def load_outcomes(root: Path, files: Iterable[Path]) -> list[Outcome]:
    """Load the files together, as one `--rules` set; one outcome per file."""
    files = list(files)
    outcomes = {path: Outcome(relative(root, path), "") for path in files}
    for path, outcome in outcomes.items():
        data = read_yaml(path)
        outcome.logsource = logsource_label(logsource_of(data))
        outcome.title = str(data.get("title", ""))
    ruleset = load_detections(files, default=False)
    for error in ruleset.errors:
        outcome = outcomes[Path(error.location.source)]
        outcome.errors.append(f"{error.location.line}: {error.reason}")
    for rule in ruleset.rules:
        describe_rule(outcomes[Path(rule.source.source)], rule)
    return sorted(outcomes.values(), key=lambda o: o.path)


def describe_rule(outcome: Outcome, rule: Rule) -> None:
    outcome.title = rule.title
    outcome.view = view_of(rule)
    for problem in rule_problems(rule):
        text = f"{problem.location.line}: {problem.severity}: {problem.message}"
        if problem.message.startswith("field ") and text not in outcome.fields:
            outcome.fields.append(text)


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


@dataclass
class Report:
    scope: list[Outcome]
    out_of_scope: Counter[str]  # emerging-threats files by product
    unsupported: list[Outcome]
    folders: Counter[str]  # in-scope files per folder
    commit: str

    def lines(self) -> Iterator[str]:
        yield from self._header()
        yield from self._logsources()
        yield from self._not_loaded()
        yield from self._fields()
        yield from self._not_run()
        yield from self._unsupported()

    def _header(self) -> Iterator[str]:
        loaded = [o for o in self.scope if o.loaded]
        yield "# SigmaHQ rule compatibility\n"
        yield "Generated by `scripts/sigma_compat.py` (do not edit; `--check` fails when stale)"
        yield f"from the SigmaHQ snapshot in `../shared/sigma` (commit `{self.commit}`),"
        yield "read in place: the rules are under the Detection Rule License 1.1"
        yield "(`../shared/sigma/LICENSE.Detection.Rules.md`). Rules are loaded as `detect scan`"
        yield "loads them (pySigma, the field mappings of `mappings/sigma/`, compilation). In"
        yield f"scope: `{IN_SCOPE[0]}`, `{IN_SCOPE[1]}`, and the rules of `{EMERGING}` whose"
        yield f"logsource is `product: {PRODUCT}`; `deprecated/` is not read. Which of these rules"
        yield "fire on real activity captured here: `tests/sigma/test_sigmahq_fires.py`."
        yield ""
        yield "## Summary\n"
        for folder, count in sorted(self.folders.items()):
            yield f"- `{folder}`: {count} rule files"
        out = ", ".join(f"{count} {name}" for name, count in sorted(self.out_of_scope.items()))
        yield f"- `{EMERGING}` with other products, out of scope (not loaded): {out or 'none'}"
        failed = len(self.scope) - len(loaded)
        yield f"- in scope: {len(self.scope)}; loaded: {len(loaded)}; not loaded: {failed}"
        runs = sum(o.view is not None for o in loaded)
        yield f"- loaded and run on audit logs: {runs}; loaded but never run (logsource not"
        yield f"  produced from audit logs): {len(loaded) - runs}"
        with_fields = sum(bool(o.fields) for o in loaded if o.view is not None)
        yield f"- run, with fields their view cannot produce: {with_fields}"
        rejected = sum(not o.loaded for o in self.unsupported)
        yield f"- `{UNSUPPORTED}/`: {len(self.unsupported)} rule files, {rejected} rejected"
        yield ""

    def _logsources(self) -> Iterator[str]:
        yield "## Per logsource\n"
        yield "| logsource | rules | loaded | not loaded | view | with unproducible fields |"
        yield "| --- | ---: | ---: | ---: | --- | ---: |"
        groups: dict[str, list[Outcome]] = {}
        for outcome in self.scope:
            groups.setdefault(outcome.logsource, []).append(outcome)
        for label, group in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
            loaded = [o for o in group if o.loaded]
            views = sorted({o.view or "not run" for o in loaded}) or ["-"]
            fields = sum(bool(o.fields) for o in loaded)
            row = (label, len(group), len(loaded), len(group) - len(loaded), ", ".join(views))
            yield "| {} | {} | {} | {} | {} | {fields} |".format(*row, fields=fields)
        yield ""

    def _not_loaded(self) -> Iterator[str]:
        yield "## Rules that do not load\n"
        failed = [o for o in self.scope if not o.loaded]
        if not failed:
            yield "None: every rule in scope loads.\n"
            return
        yield "| rule file | title | line: reason |"
        yield "| --- | --- | --- |"
        for outcome in failed:
            yield row(outcome.path, outcome.title, "<br>".join(outcome.errors))
        yield ""

    def _fields(self) -> Iterator[str]:
        yield "## Rules with fields their view cannot produce\n"
        yield "Category views produce the Sigma fields `mappings/sigma/linux.yml` maps (an"
        yield "unmapped field is an error: that test never matches); the record view produces"
        yield "audit fields and interpreted names (an unknown name is a warning)."
        yield ""
        found = [o for o in self.scope if o.loaded and o.fields]
        if not found:
            yield "None.\n"
            return
        yield "| rule file | view | line: severity: problem |"
        yield "| --- | --- | --- |"
        for outcome in found:
            yield row(outcome.path, outcome.view or "not run", "<br>".join(outcome.fields))
        yield ""

    def _not_run(self) -> Iterator[str]:
        yield "## Rules whose logsource audit logs do not produce\n"
        yield "Loaded, listed by `detect scan` as not applicable, never run."
        yield ""
        idle = [o for o in self.scope if o.loaded and o.view is None]
        if not idle:
            yield "None.\n"
            return
        yield "| rule file | logsource |"
        yield "| --- | --- |"
        for outcome in idle:
            yield row(outcome.path, outcome.logsource)
        yield ""

    def _unsupported(self) -> Iterator[str]:
        yield f"## `{UNSUPPORTED}/`\n"
        yield "Rules SigmaHQ moved out of its rule set (the old aggregation and `near` syntax of"
        yield "conditions). Each should be rejected with a clear message."
        yield ""
        yield "| rule file | title | result |"
        yield "| --- | --- | --- |"
        for outcome in self.unsupported:
            if outcome.loaded:
                problems = "; ".join(outcome.fields) or "no field problem found"
                result = f"**loaded, not rejected** ({problems})"
            else:
                result = "rejected: " + "<br>".join(outcome.errors)
            yield row(outcome.path, outcome.title, result)
        yield ""


def row(*cells: str) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def snapshot_commit(root: Path) -> str:
    source = root / "SOURCE.txt"
    if source.exists():
        for line in source.read_text(encoding="utf-8").splitlines():
            if line.startswith("commit:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def build_report(root: Path) -> Report:
    files: list[Path] = []
    folders: Counter[str] = Counter()
    for folder in IN_SCOPE:
        found = rule_files(root, folder)
        folders[folder] = len(found)
        files += found
    out_of_scope: Counter[str] = Counter()
    emerging = 0
    for path in rule_files(root, EMERGING):
        product = logsource_of(read_yaml(path)).get("product", "(none)")
        if product == PRODUCT:
            files.append(path)
            emerging += 1
        else:
            out_of_scope[product] += 1
    folders[f"{EMERGING} (product: {PRODUCT})"] = emerging
    scope = load_outcomes(root, files)
    unsupported = load_outcomes(root, rule_files(root, UNSUPPORTED))
    return Report(scope, out_of_scope, unsupported, folders, snapshot_commit(root))


def render(root: Path) -> str:
    return "\n".join(build_report(root).lines()).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed report")
    parser.add_argument("--sigma", type=Path, default=SIGMA, help="the SigmaHQ snapshot")
    parser.add_argument("--out", type=Path, default=REPORT, help="the report to write or check")
    args = parser.parse_args(argv)
    if not args.sigma.is_dir():
        print(f"no SigmaHQ snapshot at {args.sigma}", file=sys.stderr)
        return 2
    text = render(args.sigma)
    if not args.check:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        return 0
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if old == text:
        return 0
    diff = difflib.unified_diff(
        old.splitlines(keepends=True), text.splitlines(keepends=True), str(args.out), "fresh"
    )
    sys.stdout.writelines(diff)
    print(f"{args.out} is stale: run scripts/sigma_compat.py", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
