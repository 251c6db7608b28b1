"""The generated rule set: merged, keyed, ordered, and the committed rulesets/ up to date.

`UPDATE_GOLDEN=1 .venv/bin/pytest tests/auditgen/test_generate.py` rewrites rulesets/ from the
shipped detections; without it a difference fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from detect.auditgen.derive import PROCESS_TREE, Filter, Need
from detect.auditgen.generate import Options, generate, merge
from detect.auditgen.keys import MAX_KEY, Served
from detect.auditgen.model import Control, SyscallRule
from detect.auditgen.output import render_file, render_fragments
from detect.auditgen.parse import parse_rules
from detect.core.resources import ROOT
from detect.sigma.load import load_detections

RULESETS = ROOT / "rulesets"
GOLDEN_OPTIONS = Options(arch="x86_64")
A, B = Served("a", "A", "detections/x/a.yml"), Served("b", "B", "detections/x/b.yml")


@pytest.fixture(scope="module")
def shipped():
    return load_detections().rules


@pytest.fixture(scope="module")
def generated(shipped):
    return generate(shipped, GOLDEN_OPTIONS, str(ROOT))


def golden_files(generated) -> dict[Path, str]:
    files = {RULESETS / name: text for name, text in render_file(generated).items()}
    fragments = render_fragments(generated)
    files.update({RULESETS / "rules.d" / name: text for name, text in fragments.items()})
    return files


def test_rulesets_are_up_to_date(generated) -> None:
    files = golden_files(generated)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text() != text]
    assert stale == [], "regenerate with UPDATE_GOLDEN=1"


def test_same_input_same_text(shipped, generated) -> None:
    again = generate(list(reversed(shipped)), GOLDEN_OPTIONS, str(ROOT))
    assert render_file(again) == render_file(generated)


def test_layout_controls_first_and_every_rule_commented(generated) -> None:
    text = render_file(generated)["detect.rules"]
    parsed = parse_rules(text)
    items = parsed.items
    controls = [i for i in items if isinstance(i, Control)]
    assert [c.option for c in controls] == ["-D", "-b", "-f", "--backlog_wait_time"]
    first_rule = next(n for n, i in enumerate(items) if isinstance(i, SyscallRule))
    assert all(items.index(c) < first_rule for c in controls)
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("-a"):
            above = next(lines[n] for n in range(number, -1, -1) if not lines[n].startswith("-a"))
            assert above.startswith("# serves: "), line
    assert "msgtype" not in text and "-e 2" not in text


def test_keys_fit_and_map_back(generated, shipped) -> None:
    keymap = json.loads(render_file(generated)["detect.keys.json"])
    rules = [r for r in parse_rules(render_file(generated)["detect.rules"]).rules]
    keys = {key for rule in rules for key in rule.keys}
    assert keys == set(keymap)
    assert all(len(key.encode()) <= MAX_KEY for key in keys)
    ids = {entry["id"] for entries in keymap.values() for entry in entries}
    needing = {d.rule.id for d in generated.derivations if d.needs}
    assert needing | {PROCESS_TREE} == ids
    single = {key: entries for key, entries in keymap.items() if len(entries) == 1}
    assert single and all(Path(e[0]["file"]).stem.startswith(k) for k, e in single.items())


def test_both_abis_with_names_that_exist_on_each(generated) -> None:
    rules = [i for i in generated.items if isinstance(i, SyscallRule)]
    b32 = " ".join(" ".join(r.syscalls) for r in rules if r.arch == "b32")
    b64 = " ".join(" ".join(r.syscalls) for r in rules if r.arch == "b64")
    assert "stime" in b32 and "stime" not in b64  # i386 only
    assert "clock_settime64" in b32 and "clock_settime64" not in b64
    for rule in rules:
        rule.meaning("x86_64")  # every name resolves on its arch, or this raises


def test_merge_unites_same_filters_and_folds_covered() -> None:
    tmp = Filter("dir", "=", "/tmp")
    needs = [
        (Need(frozenset({"execve"})), A),
        (Need(frozenset({"execveat"})), B),
        (Need(frozenset({"execve"}), (Filter("dir", "=", "/tmp/x"),)), B),
        (Need(frozenset({"openat"}), (tmp,)), A),
        (Need(frozenset({"openat"}), (Filter("path", "=", "/tmp/y"), tmp)), B),
    ]
    groups = merge(needs)
    assert [(g.syscalls, g.filters, g.served) for g in groups] == [
        (frozenset({"execve", "execveat"}), (), {A, B}),
        (frozenset({"openat"}), (tmp,), {A, B}),
    ]


def test_merge_keeps_a_narrow_need_the_broad_one_does_not_cover() -> None:
    euid = Filter("euid", "=", "0")
    groups = merge([(Need(frozenset({"open"}), (euid,)), A), (Need(frozenset({"execve"})), B)])
    assert len(groups) == 2


def test_options_exclusion_scope_immutable_tree(shipped) -> None:
    options = Options(
        arch="x86_64",
        exclude_exes=("/usr/local/bin/detect",),
        scope_auid="4242",
        immutable=True,
        tree_full=True,
    )
    text = render_file(generate(shipped, options, str(ROOT)))["detect.rules"]
    lines = [line for line in text.splitlines() if line.startswith("-")]
    assert lines[4:6] == [
        "-a never,exit -F arch=b64 -S all -F exe=/usr/local/bin/detect",
        "-a never,exit -F arch=b32 -S all -F exe=/usr/local/bin/detect",
    ]
    assert lines[-1] == "-e 2"
    rules = [line for line in lines if line.startswith("-a always")]
    assert all("-F auid=4242" in line for line in rules)
    assert not any("auid!=" in line for line in rules)
    assert any("clone" in line and "exit_group" in line for line in rules)


def test_host_paths_watch_the_first_missing_directory(shipped) -> None:
    missing = {"/etc/audisp", "/var/spool/cron", "/var/spool/anacron", "/var/spool", "/lib32"}
    options = Options(arch="x86_64", is_dir=lambda path: path not in missing)
    generated = generate(shipped, options, str(ROOT))
    text = render_file(generated)["detect.rules"]
    assert "dir=/etc/audisp" not in text and "dir=/var/spool" not in text
    assert "-F a2&0x243 -F path=/etc/audisp -k audit_config_written" in text
    assert "-F a2&0x243 -F path=/var/spool -k cron_file_modified" in text
    assert "-F a2&0x243 -F path=/lib32 -k system_binary_written" in text
    assert (
        "# host: /var/spool/cron is missing here: only the creation of /var/spool is audited"
        in (text)
    )
    assert "-F dir=/etc -k" not in text  # never widened to a busy parent


def test_fragments_for_augenrules(generated) -> None:
    files = render_fragments(generated)
    assert sorted(files) == ["10-detect-control.rules", "50-detect.rules", "detect.keys.json"]
    whole = "".join(files[name] for name in sorted(files) if name.endswith(".rules"))
    assert parse_rules(whole).rules == parse_rules(render_file(generated)["detect.rules"]).rules
