from __future__ import annotations

from detect.auditgen.model import Field, Key, SyscallRule, Syscalls, Watch
from detect.auditgen.parse import parse_rule, parse_rules, read_rules
from detect.auditgen.values import AuditRuleError
from detect.auditgen.write import quote, write_item, write_rules
from tests.auditgen.corpus import rule_files

CANONICAL = """\
## Generated: canonical text writes back unchanged
-D
-b 8192
-f 1
--backlog_wait_time 60000

-a always,exclude -F msgtype=CWD
-a never,exit -F arch=b64 -S adjtimex -F auid=unset -F uid=20 -F subj_type=chronyd_t
-a always,exit -F arch=b64 -S open,truncate -S openat -F exit=-EACCES -F auid>=1000 -k access
-a always,exit -F arch=b64 -C auid!=uid -S execve -F key=a -k b
-A always,exit -F dir=/etc/sudoers.d/ -F perm=wa
-w /etc/passwd -p wa -k identity
-w '/folder with space' -p wa -k spaces
-W /etc/group
-e 1
"""


def test_canonical_text_writes_back_unchanged() -> None:
    assert write_rules(parse_rules(CANONICAL)) == CANONICAL


def test_write_then_parse_gives_the_same_item() -> None:
    rule = SyscallRule(
        "exit", "always", (Field("arch", "=", "b64"), Syscalls(("execve",)), Key("x y")), "-a"
    )
    assert write_item(rule) == "-a always,exit -F arch=b64 -S execve -k 'x y'"
    assert parse_rule(write_item(rule)) == rule
    watch = Watch("/etc/a'b", "rw", ("k",))
    assert parse_rule(write_item(watch)) == watch


def test_quoting_only_when_needed() -> None:
    assert quote("auid>=500") == "auid>=500"
    assert quote("a b") == "'a b'"
    assert quote("") == "''"


def test_non_canonical_lines_keep_their_meaning() -> None:
    for text, canonical in [
        ("  -a exit,always -F arch=b64 -S open -k k", "-a always,exit -F arch=b64 -S open -k k"),
        ('-a always,exit -F "auid>=500" -F perm=x', "-a always,exit -F auid>=500 -F perm=x"),
        ('-w "/a b" -p wa', "-w '/a b' -p wa"),
        ("-e\t1", "-e 1"),
    ]:
        item = parse_rule(text)
        assert write_item(item) == canonical
        assert parse_rule(canonical) == item


def test_every_public_rule_file_round_trips() -> None:
    """Each parsed line writes to text that parses back to the same item (so the same meaning);
    a line that was canonical comes back byte for byte."""
    lines = unchanged = 0
    for path in rule_files():
        errors: list[AuditRuleError] = []
        rules = read_rules(path, errors)
        written = write_rules(rules).splitlines()
        assert len(written) == len(rules.lines)
        for line, text in zip(rules.lines, written, strict=True):
            assert parse_rule(text) == line.item, f"{path}:{line.number}"
            assert write_item(parse_rule(text)) == text
            lines += 1
            unchanged += text == line.text
    assert lines > 2000
    # what differs: `exit,always` order, leading blanks, quotes around -F, tabs
    assert unchanged / lines > 0.9
