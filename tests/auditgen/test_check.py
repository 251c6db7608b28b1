"""Soundness of the generated audit rules, and `detect audit-rules check` on real rule sets."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from detect.auditgen.check import check_audit_rules
from detect.auditgen.derive import HOME_SCOPE
from detect.auditgen.generate import Options, generate
from detect.auditgen.model import SyscallRule
from detect.auditgen.parse import parse_rules, read_rules
from detect.auditgen.simulate import Simulator
from detect.auditgen.write import write_items
from detect.cli import audit_rules
from detect.cli.audit_rules import DEPRECATED
from detect.cli.commands import main
from detect.core.resources import ROOT
from detect.matching.dispatch import view_of
from detect.pipeline.samples import match_events
from detect.sigma.load import load_detections
from detect.sigma.model import Rule

NEO23X0 = Path("/work/shared/auditd-rulesets/Neo23x0__auditd/audit.rules")
SHARED = pytest.mark.skipif(not NEO23X0.exists(), reason="shared rule sets not present")


@pytest.fixture(scope="module")
def shipped() -> list[Rule]:
    return [rule for rule in load_detections().rules if view_of(rule) is not None]


HOMES = Options(arch="x86_64", scope=HOME_SCOPE)  # --unbounded-paths /home,/root


@pytest.fixture(scope="module")
def generated_text(shipped: list[Rule]) -> str:
    return write_items(generate(shipped, HOMES, str(ROOT)).items)


@pytest.fixture(scope="module")
def left_out(shipped: list[Rule]) -> set[str]:
    """The detections with terms the default leaves out (no path literal), as it reports."""
    generated = generate(shipped, Options(arch="x86_64"), str(ROOT))
    return {Path(d.rule.source.source).stem for d in generated.derivations if d.unbounded}


def lost_events(shipped: list[Rule], text: str) -> tuple[list[str], int]:
    lost: list[str] = []
    total = 0
    for rule in shipped:
        simulator = Simulator(parse_rules(text), "x86_64")
        for event in match_events(rule):
            total += 1
            verdict = simulator.check(event)
            if not verdict.emitted:
                lost.append(f"{Path(rule.source.source).stem}: {event.serial}: {verdict.reason}")
    return lost, total


def test_every_match_sample_is_emitted_by_the_generated_rules(
    shipped, generated_text, left_out
) -> None:
    """Sound: every sample event of a detection is emitted, but for the events of a term
    without a path literal that lie outside the directories it was assumed under."""
    lost, total = lost_events(shipped, generated_text)
    assert [line for line in lost if line.split(":")[0] not in left_out] == []
    assert total >= 2 * len(shipped) - 5  # nearly every detection has two or more


def test_the_default_loses_only_the_samples_of_terms_it_reports_left_out(shipped, left_out) -> None:
    assert {"private_key_read", "ssh_authorized_keys_modified"} <= left_out
    lost, _total = lost_events(shipped, write_items(generate(shipped, Options(), str(ROOT)).items))
    assert lost and {line.split(":")[0] for line in lost} <= left_out


def test_check_of_the_generated_rules_finds_nothing(shipped, generated_text, left_out) -> None:
    result = check_audit_rules(parse_rules(generated_text), shipped, "x86_64", HOME_SCOPE)
    assert [
        f.rule.title for f in result.blind + result.partly if _stem(f.rule) not in left_out
    ] == []
    assert result.unused == []


def _stem(rule: Rule) -> str:
    return Path(rule.source.source).stem


def test_a_rule_set_without_file_rules_leaves_file_detections_blind(shipped) -> None:
    rules = parse_rules(
        "-a always,exit -F arch=b64 -S execve,execveat -k exec\n"
        "-a always,exit -F arch=b64 -S memfd_create -k memfd\n"
    )
    result = check_audit_rules(rules, shipped, "x86_64")
    blind = {Path(f.rule.source.source).stem for f in result.blind}
    assert {"boot_file_written", "kernel_module_syscall", "sudoers_modified"} <= blind
    assert "audit_tool_executed" not in blind  # process_creation: execve is audited
    assert "authentication_failed" not in blind  # user-space records need no rule
    assert [r.syscalls for r in result.unused if isinstance(r, SyscallRule)] == [("memfd_create",)]
    assert len(result.unused) == 1


@SHARED
def test_neo23x0_names_the_detections_it_leaves_blind(shipped) -> None:
    errors: list[object] = []
    result = check_audit_rules(read_rules(NEO23X0, errors), shipped, "x86_64")  # type: ignore[arg-type]
    by_name = {Path(f.rule.source.source).stem: f for f in result.findings}
    blind = {name for name, f in by_name.items() if f.blind}
    # No rule audits writes under /boot, to /etc/hostname, key reads, or truncation in /var/log.
    assert {"boot_file_written", "hostname_file_modified", "private_key_read"} <= blind
    assert "log_file_truncated" in blind
    why = by_name["boot_file_written"].reasons
    assert any(r.startswith(("openat /boot/", "renameat2 /boot/")) for r in why), why
    assert "no exit rule matched" in why[0]
    partly = {name for name, f in by_name.items() if f.partly}
    assert "system_time_changed" in partly  # its time rule needs the user `ntp` resolved
    shm = by_name["exec_from_temp_dir"].reasons  # its `-a never,exit -F dir=/dev/shm/`
    assert any(r.startswith("execve /dev/shm/") and "never matched" in r for r in shm), shm
    assert not by_name["kernel_module_syscall"].blind  # -S init_module ... is there
    unused = [" ".join(r.syscalls) for r in result.unused if hasattr(r, "syscalls")]
    assert "memfd_create" in unused and "swapon swapoff" in unused


def test_cli_generate_and_check(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "gen" / "detect.rules"
    command = ["audit-rules", "generate", "--portable", "--arch", "x86_64", "--out", str(out)]
    done = runner.invoke(main, command)
    assert done.exit_code == 0, done.output
    assert "left out of " in done.stderr and "--unbounded-paths" in done.stderr
    assert (tmp_path / "gen" / "detect.keys.json").exists()
    assert out.read_text() == (ROOT / "rulesets" / "detect.rules").read_text()
    checked = runner.invoke(main, ["audit-rules", "check", str(out), "--arch", "x86_64"])
    assert checked.exit_code == 1, checked.output  # ssh_authorized_keys_attributes_changed
    assert checked.output.splitlines()[-1].endswith(
        "0 rules serve no detection, 0 lines not loadable"
    )
    frag = tmp_path / "rules.d"
    done = runner.invoke(
        main, ["audit-rules", "generate", "--arch", "x86_64", "--fragments", "--out", str(frag)]
    )
    assert done.exit_code == 0 and (frag / "50-detect.rules").exists()
    folder = runner.invoke(main, ["audit-rules", "check", str(frag), "--arch", "x86_64"])
    assert folder.output.splitlines()[-1] == checked.output.splitlines()[-1]
    bare = tmp_path / "bare.rules"
    bare.write_text("-a always,exit -F arch=b64 -S execve -k exec\n")
    blind = runner.invoke(main, ["audit-rules", "check", str(bare), "--arch", "x86_64"])
    assert (
        blind.exit_code == 1
        and "BLIND detections/persistence/boot_file_written.yml" in blind.output
    )


def test_cli_rules_is_a_deprecated_alias_of_audit_rules(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["--help"])
    assert "audit-rules" in listed.output
    assert "  rules " not in listed.output  # hidden
    bare = tmp_path / "bare.rules"
    bare.write_text("-a always,exit -F arch=b64 -S execve -k exec\n")
    new = runner.invoke(main, ["audit-rules", "check", str(bare), "--arch", "x86_64"])
    old = runner.invoke(main, ["rules", "check", str(bare), "--arch", "x86_64"])
    assert (old.exit_code, old.stdout) == (new.exit_code, new.stdout)
    assert old.stderr.splitlines()[0] == DEPRECATED
    assert "deprecated" not in new.stderr


@SHARED
@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "ppc64le", "s390x", "riscv64"])
def test_check_reports_lines_an_arch_refuses_without_a_traceback(
    arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same detections for all 54 rule files: loaded once (what is checked is the files)
    monkeypatch.setattr(audit_rules, "loaded", cache(audit_rules.loaded))
    runner = CliRunner()
    for rules in [*sorted(NEO23X0.parents[1].rglob("*.rules")), NEO23X0]:
        done = runner.invoke(main, ["audit-rules", "check", str(rules), "--arch", arch])
        assert done.exception is None or isinstance(done.exception, SystemExit), (rules, arch)
        assert done.exit_code in (0, 1), done.output
        assert "lines not loadable" in done.output.splitlines()[-1]
        if arch == "aarch64" and rules == NEO23X0:  # aarch64 has no open, mkdir, rename...
            assert f"PROBLEM {rules}:" in done.output
            assert "unknown syscall" in done.output
