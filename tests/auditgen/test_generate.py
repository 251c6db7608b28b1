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
from detect.auditgen.model import Comment, Control, SyscallRule, Watch
from detect.auditgen.output import render_file, render_fragments
from detect.auditgen.parse import parse_rules
from detect.auditgen.write import write_items
from detect.core.resources import ROOT
from detect.kernel import tables
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
    controls = [i.option for i in items if isinstance(i, Control)]
    assert controls == ["-D", "-b", "-f", "--backlog_wait_time", "-i"]  # -i: portable, last
    first_rule = next(n for n, i in enumerate(items) if isinstance(i, (SyscallRule, Watch)))
    assert all(isinstance(i, (Comment, Control)) for i in items[:first_rule])
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith(("-a always", "-w ")):
            above = next(lines[n] for n in range(number, -1, -1) if not lines[n].startswith("-"))
            assert above.startswith("# serves: "), line
        elif line.startswith("-a never"):
            above = next(lines[n] for n in range(number, -1, -1) if lines[n].startswith("#"))
            assert above.startswith(("# the collector", "# noise: ")), line
    assert "msgtype" not in text and "-e 2" not in text


def test_the_smallest_set_watches_and_no_catch_all(generated) -> None:
    rules = [i for i in generated.items if isinstance(i, (SyscallRule, Watch))]
    watches = [r for r in rules if isinstance(r, Watch)]
    always = [r for r in rules if isinstance(r, SyscallRule) and r.action == "always"]
    print(f"rules: {len(rules)} ({len(watches)} watches, {len(always)} always) (before: 258)")
    assert len(rules) < 258 / 2  # and 84 of the 93 are watches or exclusions (2026-12-07)
    assert len({w.path for w in watches}) == len(watches)  # one line per path
    on_path = [r for r in always if any(f.field in ("dir", "path") for f in r.fields)]
    assert len(on_path) <= 10
    for rule in always:  # never every syscall, unless one file (inode) bounds it
        if "all" in rule.syscalls or not rule.syscalls:
            assert [f.field for f in rule.fields if f.field in ("dir", "path")] == ["path"], rule
    reads = {w.path for w in watches if "r" in w.perms}
    assert reads == {"/etc/ssh", "/etc/pki/tls/private", "/etc/ssl/private"}  # private_key_read
    assert {w.path: w.perms for w in watches if w.path == "/var/log"} == {"/var/log": "wxa"}


def test_exclusions_first_collector_and_noise(generated) -> None:
    text = render_file(generated)["detect.rules"]
    lines = [line for line in text.splitlines() if line.startswith("-")]
    never = [line for line in lines if line.startswith("-a never")]
    assert lines[4 : 4 + len(never)] == never
    assert "-a never,exit -F path=/var/log/audit/audit.log -F perm=r" in never
    assert "-a never,exit -F path=/var/lib/detect -F perm=rwxa" in never
    assert "-a never,exit -F arch=b64 -S adjtimex,clock_adjtime -F exe=/usr/sbin/chronyd" in never
    assert "# noise: chrony disciplines the clock (/usr/sbin/chronyd)" in text


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


def test_a_long_file_name_is_cut_and_told_apart() -> None:
    one = Served("id-1", "T", "x/" + "a" * 40 + ".yml")
    two = Served("id-2", "T", "x/" + "a" * 40 + "2.yml")
    assert one.stem != two.stem and len(one.stem) == len(two.stem) == MAX_KEY


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
        collector_inputs=(),
        collector_state=(),
        noise=False,
    )
    text = render_file(generate(shipped, options, str(ROOT)))["detect.rules"]
    lines = [line for line in text.splitlines() if line.startswith("-")]
    assert lines[4].startswith("-a never,exit -F arch=b64 -S accept,accept4,adjtimex,")
    assert lines[4].endswith(",vfork -F exe=/usr/local/bin/detect")
    assert lines[5].startswith("-a never,exit -F arch=b32 -S ")
    assert lines[-1] == "-e 2"
    rules = [line for line in lines if line.startswith("-a always")]
    assert all("-F auid=4242" in line for line in rules)
    assert not any("auid!=" in line for line in rules) and not any(
        line.startswith("-w ") for line in lines
    )  # a watch cannot carry auid=: its -a form
    assert any("clone" in line and "exit_group" in line for line in rules)


def test_host_paths_watch_the_first_missing_directory(shipped) -> None:
    missing = {"/etc/audisp", "/var/spool/cron", "/var/spool/anacron", "/var/spool", "/lib32"}
    options = Options(
        arch="x86_64", is_dir=lambda path: path not in missing, knows=lambda t, n: True
    )
    generated = generate(shipped, options, str(ROOT))
    text = render_file(generated)["detect.rules"]
    assert "-w /etc/audisp -p w -k audit_config_written" in text  # its parent exists
    assert "-w /var/spool -p w -k cron_file_modified" in text  # the first missing one
    assert "-w /var/spool/cron" not in text and "-w /lib32 -p w" in text
    assert "# host: /var/spool is missing: only the creation of /var/spool is audited" in text
    assert "\n-i\n" not in text  # fitted to the host: nothing to skip


def test_portable_syscall_names_and_host_names(shipped) -> None:
    portable = render_file(generate(shipped, Options(arch="x86_64"), str(ROOT)))["detect.rules"]
    assert "fchmodat2" not in portable  # auditctl 3.0.9 does not know it
    unknown = Options(arch="x86_64", is_dir=lambda p: True, knows=lambda t, n: n != "execveat")
    text = render_file(generate(shipped, unknown, str(ROOT)))["detect.rules"]
    assert " -S " in text and "execveat" not in text and ",322 " in text  # execveat is 322


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "ppc64le", "s390x", "riscv64"])
def test_every_arch_gets_a_complete_set(shipped, arch: str) -> None:
    generated = generate(shipped, Options(arch=arch), str(ROOT))
    rules = [i for i in generated.items if isinstance(i, SyscallRule) and i.action == "always"]
    execve = tables.syscall_number(arch, "execve")
    # every name (or number) resolves in that arch's table, or meaning() raises
    assert any(execve in (rule.meaning(arch).syscalls or ()) for rule in rules), arch
    if arch == "riscv64":  # auditctl 3.0.9 has no riscv64 table: numbers only
        assert all(all(n.isdigit() for n in r.syscalls) for r in rules if r.syscalls)
    keys = {key for r in parse_rules(write_items(generated.items)).rules for key in r.keys}
    assert keys == set(generated.keymap.keys)


def test_fragments_for_augenrules(generated) -> None:
    files = render_fragments(generated)
    assert sorted(files) == [
        "10-detect-control.rules",
        "20-detect-exclude.rules",
        "50-detect.rules",
        "detect.keys.json",
    ]
    whole = "".join(files[name] for name in sorted(files) if name.endswith(".rules"))
    assert parse_rules(whole).rules == parse_rules(render_file(generated)["detect.rules"]).rules


SIGMA_LINUX = ROOT.parent / "shared" / "sigma" / "rules" / "linux"


@pytest.mark.skipif(not SIGMA_LINUX.is_dir(), reason="SigmaHQ's rules are not in ../shared")
def test_all_of_sigmahq_linux_never_crashes_nor_catches_all() -> None:
    from click.testing import CliRunner

    from detect.cli.commands import main

    args = ["audit-rules", "generate", "--portable", "--no-default-rules"]
    done = CliRunner().invoke(main, [*args, "--rules", str(SIGMA_LINUX)])
    assert done.exit_code == 0, done.output
    underivable = [line for line in done.stderr.splitlines() if line.startswith("cannot derive ")]
    print("\n".join(underivable))
    assert len(underivable) >= 5
    assert any("lnx_auditd_coinminer.yml: a term names nothing" in line for line in underivable)
    rules = parse_rules(done.stdout).rules
    assert len(rules) > 20
    for rule in rules:
        if isinstance(rule, SyscallRule) and rule.action == "always":
            paths = [f.field for f in rule.fields if f.field in ("dir", "path")]
            assert (rule.syscalls and "all" not in rule.syscalls) or paths == ["path"], rule


SHELL = Need(frozenset({"connect", "accept"}), (Filter("saddr_fam", "!=", "1"),), "bash")


def narrowed(needs: list[Need], programs) -> list[str]:
    """The syscall rules generated for `needs` with the host probe `programs`."""
    from detect.auditgen import generate as module

    options = Options(arch="x86_64", is_dir=lambda _p: True, knows=lambda _t, _n: True,
                      programs=programs)  # fmt: skip
    ctx = module.Context(options, module.load_table(), {"b64": "x86_64", "b32": "i386"},
                         lambda _p: True)  # fmt: skip
    broad = module._unfiltered(needs)
    found = [n for need in needs for n in module._installed(need, broad, ctx)]
    groups = merge((n, A) for n in found)
    lines = [write_items([item]).strip() for g in groups for item in module._group_items(g, ctx)]
    return [line for line in lines if line.startswith("-a")] + sorted(ctx.notes)


def test_a_program_named_by_its_file_name_is_narrowed_to_its_installed_copies() -> None:
    installed = {"bash": (("/usr/bin/bash", 64),), "zsh": ()}
    lines = narrowed([SHELL], lambda name: installed[name])
    assert lines[0] == (
        "-a always,exit -F arch=b64 -S accept,connect -F exe=/usr/bin/bash -F saddr_fam!=1 -k a"
    )  # a 64-bit program: only the b64 ABI
    assert "not a copy elsewhere (--programs-anywhere" in lines[-1]
    gone = narrowed([Need(SHELL.syscalls, SHELL.filters, "zsh")], lambda name: installed[name])
    assert len(gone) == 1 and gone[0].startswith("no program named zsh is installed")
    anywhere = narrowed([SHELL], None)  # --programs-anywhere, or portable output
    assert anywhere == [
        "-a always,exit -F arch=b64 -S accept,connect -F saddr_fam!=1 -k a",
        "-a always,exit -F arch=b32 -S connect -F saddr_fam!=1 -k a",  # i386 has no accept
    ]


def test_a_syscall_audited_without_filter_leaves_the_narrower_rules() -> None:
    every = Need(frozenset({"connect"}))
    lines = narrowed([every, SHELL], lambda name: (("/usr/bin/bash", 64),))
    assert lines[:3] == [
        "-a always,exit -F arch=b64 -S connect -k a",
        "-a always,exit -F arch=b32 -S connect -k a",
        "-a always,exit -F arch=b64 -S accept -F exe=/usr/bin/bash -F saddr_fam!=1 -k a",
    ]  # connect is audited for every program already: bash's rule keeps only accept


def test_entries_of_a_folder_are_one_path_rule_not_a_tree_watch(generated) -> None:
    text = render_file(generated)["detect.rules"]
    assert "-a always,exit -F path=/tmp -F perm=w -k hidden_file_in_temp_dir" in text
    assert "-w /tmp " not in text and "-w /var/tmp " not in text  # no tree of every write
