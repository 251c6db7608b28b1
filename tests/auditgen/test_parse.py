from __future__ import annotations

from pathlib import Path

import pytest

from detect.auditgen.model import (
    AuditRuleFile,
    Blank,
    Comment,
    Comparison,
    Control,
    Field,
    Key,
    Perms,
    SyscallRule,
    Syscalls,
    Watch,
)
from detect.auditgen.parse import parse_rule, parse_rules, read_rules, split_line
from detect.auditgen.values import UNSET_ID, AuditRuleError
from detect.core.errors import DetectError, Location
from tests.auditgen.corpus import RULESETS, rule_files

# Lines of the public rule sets that auditctl itself refuses, and why (checked by hand against
# auditctl's option parsing: getopt takes the word after -F / -k as its value).
REFUSED = {
    ("bfuzzy1__auditd-attack/auditd-attack/auditd-attack.rules", 302): "unknown field name",
    ("bfuzzy1__auditd-attack/auditd-attack/auditd-attack.rules", 417): "unknown field name",
    **{
        ("bfuzzy1__auditd-attack/auditd-attack/auditd-attack.rules", n): "needs a value"
        for n in range(344, 352)  # `-F -k KEY`: -F takes "-k", KEY is left over
    },
    ("Neo23x0__auditd/audit.rules", 487): "needs a value",  # `-k -F KEY`
    ("Neo23x0__auditd/audit.rules", 488): "needs a value",
    ("Neo23x0__auditd/audit.rules", 718): "unknown field obj",  # `-F obj=`: no such field
    ("Neo23x0__auditd/audit.rules", 719): "unknown field obj",
}


def test_every_public_rule_file_parses_except_lines_auditctl_refuses() -> None:
    files = rule_files()
    assert len(files) == 54
    refused = {}
    for path in files:
        errors: list[AuditRuleError] = []
        rules = read_rules(path, errors)
        assert all(isinstance(error.location, Location) for error in errors)
        for error in errors:
            refused[(str(path.relative_to(RULESETS)), error.location.line)] = error.reason
        text_lines = path.read_text(encoding="utf-8").splitlines()
        assert len(rules.lines) + len(errors) == len(text_lines)
    assert refused.keys() == REFUSED.keys()
    for where, reason in refused.items():
        assert REFUSED[where] in reason, where


def test_the_rule_files_hold_many_rules() -> None:
    counts = [len(read_rules(path, []).rules) for path in rule_files()]
    assert sum(counts) > 1000


def test_list_and_action_in_either_order() -> None:
    first = parse_rule("-a always,exit -F arch=b64 -S execve")
    second = parse_rule("-a exit,always -F arch=b64 -S execve")
    assert first == second
    assert isinstance(first, SyscallRule)
    assert (first.list_name, first.action, first.command) == ("exit", "always", "-a")


@pytest.mark.parametrize("text", ["-a always,entry", "-a sometimes,exit", "-a always", "-a"])
def test_bad_list_or_action(text: str) -> None:
    with pytest.raises(AuditRuleError):
        parse_rule(text)


def test_syscall_lists_and_repeats_keep_their_grouping() -> None:
    rule = parse_rule("-a always,exit -F arch=b64 -S open,truncate -S openat -k a -k b")
    assert isinstance(rule, SyscallRule)
    assert rule.parts == (
        Field("arch", "=", "b64"),
        Syscalls(("open", "truncate")),
        Syscalls(("openat",)),
        Key("a"),
        Key("b"),
    )
    assert rule.syscalls == ("open", "truncate", "openat")
    assert rule.keys == ("a", "b")
    joined = parse_rule("-a always,exit -F arch=b64 -S open -S truncate,openat -F key=a -F key=b")
    assert isinstance(joined, SyscallRule)
    assert joined.meaning() == rule.meaning()
    assert rule.meaning().keys == ("a", "b")
    assert rule.meaning().syscalls == frozenset({2, 76, 257})


def test_every_operator() -> None:
    for op in ("=", "!=", "<", ">", "<=", ">=", "&", "&="):
        rule = parse_rule(f"-a always,exit -S all -F a1{op}0x10")
        assert isinstance(rule, SyscallRule)
        assert rule.fields == (Field("a1", op, "0x10"),)
        assert rule.meaning().fields == (("a1", op, 16),)
        assert rule.meaning().syscalls is None


@pytest.mark.parametrize("value", ["unset", "-1", "4294967295"])
def test_auid_unset_in_every_spelling_means_the_same(value: str) -> None:
    rule = parse_rule(f"-a always,exit -F arch=b64 -S execve -F auid!={value}")
    assert isinstance(rule, SyscallRule)
    assert rule.fields[-1].value == value  # the text is kept
    assert rule.meaning().fields[-1] == ("auid", "!=", UNSET_ID)


def test_field_values_are_normalised_as_auditctl_sends_them() -> None:
    rule = parse_rule(
        "-a always,exit -F arch=b32 -S open -F exit=-EACCES -F perm=wa -F success=0"
        " -F msgtype=EXECVE -F a0=017 -F filetype=dir -F loginuid>=1000 -F uid=root"
    )
    assert isinstance(rule, SyscallRule)
    assert rule.meaning().arch == "i386"
    assert rule.meaning().syscalls == frozenset({5})  # open on i386
    assert rule.meaning().fields == (
        ("arch", "=", "i386"),
        ("exit", "=", -13),
        ("perm", "=", 10),
        ("success", "=", 0),
        ("msgtype", "=", 1309),
        ("a0", "=", 15),
        ("filetype", "=", 0o040000),
        ("auid", ">=", 1000),
        ("uid", "=", "root"),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-a always,exit -F nosuch=1", "unknown field nosuch"),
        ("-a always,exit -F exe>/bin/ls", "field exe takes only = and !="),
        ("-a always,exit -F perm!=wa", "field perm takes only ="),
        ("-a always,exit -F perm=z", "bad value for field perm"),
        ("-a always,exit -F exit=-ENOTANERRNO", "bad value for field exit"),
        ("-a always,exit -F arch=b128", "bad value for field arch"),
        ("-a always,exit -F auid", "a field is NAME OP VALUE"),
        ("-a always,exit -C auid!=path", "cannot compare"),
        ("-a always,user -S execve", "-S is not allowed on the user list"),
        ("-a always,exit -S exec ve", "needs a value"),
        ("-w etc/passwd", "needs an absolute path"),
        ("-w /etc/passwd -p wz", "unexpected -p"),
        ("-e 2 1", "takes one value"),
        ("-e 3", "bad value for -e"),
        ("-D 1", "takes no value"),
        ("-q", "unknown option -q"),
        ("-w '/etc/pass", "cannot split the line"),
    ],
)
def test_errors_say_why(text: str, reason: str) -> None:
    with pytest.raises(AuditRuleError) as caught:
        parse_rule(text)
    assert reason in caught.value.reason


def test_errors_carry_the_file_and_line_and_compare_by_value() -> None:
    text = "# rules\n-D\n-a always,exit -F nosuch=1\n"
    with pytest.raises(DetectError) as caught:
        parse_rules(text, "x.rules")
    assert caught.value == AuditRuleError(
        "unknown field nosuch", Location("x.rules", 3), "nosuch=1"
    )
    assert str(caught.value) == "x.rules:3: unknown field nosuch: 'nosuch=1'"
    errors: list[AuditRuleError] = []
    rules = parse_rules(text + "-b 8192\n", "x.rules", errors)
    assert [line.number for line in rules.lines] == [1, 2, 4]
    assert errors == [AuditRuleError("unknown field nosuch", Location("x.rules", 3), "nosuch=1")]


def test_comparisons_take_either_order() -> None:
    rule = parse_rule("-a always,exit -F arch=b64 -C auid!=uid -S execve")
    assert isinstance(rule, SyscallRule)
    assert rule.comparisons == (Comparison("auid", "!=", "uid"),)
    assert rule.comparisons[0].pair() == "uid:auid"
    assert rule.meaning().fields[-1] == ("field_compare", "!=", 10)  # AUDIT_COMPARE_UID_TO_AUID


def test_watches_and_their_syscall_rule_equivalents() -> None:
    watch = parse_rule("-w /etc/passwd -p wa -k identity")
    assert watch == Watch("/etc/passwd", "wa", ("identity",))
    rule = parse_rule("-a always,exit -F path=/etc/passwd -F perm=wa -k identity")
    assert isinstance(watch, Watch) and isinstance(rule, SyscallRule)
    assert watch.meaning() == rule.meaning()
    directory = parse_rule("-w /etc/sudoers.d/ -p wa")
    as_dir = parse_rule("-a always,exit -F dir=/etc/sudoers.d -F perm=wa")
    assert isinstance(directory, Watch) and isinstance(as_dir, SyscallRule)
    assert directory.meaning() == as_dir.meaning()
    bare = parse_rule("-w /etc/hosts")
    assert isinstance(bare, Watch)
    assert bare.effective_perms == "rwxa"
    assert bare.meaning(is_dir=True).fields == (("dir", "=", "/etc/hosts"), ("perm", "=", 15))
    removal = parse_rule("-W /etc/passwd -p wa -k identity")
    assert isinstance(removal, Watch) and removal.command == "-W"
    assert removal.to_rule().command == "-d"


def test_perms_inside_a_syscall_rule_set_the_perm_field() -> None:
    rule = parse_rule("-a always,exit -F arch=b64 -F path=/etc/x -p wa -F key=k")
    assert isinstance(rule, SyscallRule)
    assert Perms("wa") in rule.parts
    same = parse_rule("-a always,exit -F arch=b64 -F path=/etc/x -F perm=wa -F key=k")
    assert isinstance(same, SyscallRule)
    assert rule.meaning() == same.meaning()


def test_control_lines() -> None:
    texts = ["-D", "-b 8192", "-f 1", "-r 100", "-e 1", "--backlog_wait_time 60000", "-i", "-c"]
    texts += ["--loginuid-immutable", "--reset-lost"]
    for text in texts:
        item = parse_rule(text)
        assert isinstance(item, Control)
        assert item.tokens() == text.split()


def test_quoting_and_comments_and_blanks() -> None:
    assert split_line("-w '/folder with space' -p wa") == ["-w", "/folder with space", "-p", "wa"]
    assert split_line('-F "auid>=500"') == ["-F", "auid>=500"]
    assert parse_rule('-w "/a b" -k k') == parse_rule("-w '/a b' -k k")
    assert parse_rule("  # a comment") == Comment("  # a comment")
    assert parse_rule("   ") == Blank()


def test_a_rule_file_keeps_lines_in_order_with_numbers() -> None:
    rules = parse_rules("## head\n\n-D\n-w /etc/passwd -p wa -k id\n-e 1\n", "f.rules")
    assert isinstance(rules, AuditRuleFile)
    assert [line.number for line in rules.lines] == [1, 2, 3, 4, 5]
    assert [type(item).__name__ for item in rules.items] == [
        "Comment",
        "Blank",
        "Control",
        "Watch",
        "Control",
    ]
    assert len(rules.rules) == 1
    assert [c.option for c in rules.controls] == ["-D", "-e"]
    assert next(rules.located())[0] == Location("f.rules", 1)


def test_reading_a_missing_file_is_an_error_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(AuditRuleError) as caught:
        read_rules(tmp_path / "none.rules")
    assert caught.value.location == Location(str(tmp_path / "none.rules"))
