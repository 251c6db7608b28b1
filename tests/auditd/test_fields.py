"""Body fields: quoting, hex only when unquoted and encoded, absent values, nested msg, AVC."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from detect.auditd import fields
from detect.auditd.fields import parse_fields, parse_fields_fast, parse_fields_slow, syscall_fields
from detect.auditd.record import parse_line


def fields_of(body: str, rtype: str = "SYSCALL") -> dict[str, str]:
    return parse_line(f"type={rtype} msg=audit(1.000:1): {body}").fields


def test_quoted_and_hex() -> None:
    fields = fields_of('comm="ls" exe=2F746D702F61206220 key=(null) tty=(none) a0=2f', "SYSCALL")
    assert fields["comm"] == "ls"
    assert fields["exe"] == "/tmp/a b "
    assert "key" not in fields  # (null) is absent
    assert fields["tty"] == "(none)"
    assert fields["a0"] == "2f"  # SYSCALL a0 is a number, never text


def test_quoted_hex_looking_value_stays() -> None:
    assert fields_of('exe="414243"')["exe"] == "414243"


def test_execve_args_decoded_non_utf8_kept() -> None:
    fields = fields_of('argc=3 a0="x" a1=77697468207370616365 a2=FFFE', "EXECVE")
    assert fields["a1"] == "with space"
    assert fields["a2"].encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_question_mark_is_absent_and_nested_msg_unpacked() -> None:
    body = (
        "pid=2206 uid=0 auid=4294967295 ses=4294967295 msg='op=adding user id=1001 "
        'exe="/usr/sbin/useradd" hostname=? addr=? terminal=? res=success\''
    )
    fields = fields_of(body, "ADD_USER")
    assert fields["op"] == "adding"
    assert fields["id"] == "1001"
    assert fields["exe"] == "/usr/sbin/useradd"
    assert fields["res"] == "success"
    assert "hostname" not in fields and "addr" not in fields
    assert fields["pid"] == "2206"


def test_acct_hex_in_nested_msg() -> None:
    fields = fields_of("pid=1 msg='op=PAM:auth acct=726F6F74 res=failed'", "USER_AUTH")
    assert fields["acct"] == "root"


def test_avc() -> None:
    body = (
        'avc:  denied  { read write } for  pid=12 comm="cat" name="shadow" '
        "scontext=u:r:a tcontext=u:r:b tclass=file permissive=0"
    )
    fields = fields_of(body, "AVC")
    assert fields["seresult"] == "denied"
    assert fields["seperms"] == "read,write"
    assert fields["name"] == "shadow"


def test_enriched_part() -> None:
    line = (
        "type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 auid=0 uid=0 key=(null)"
        '\x1dARCH=x86_64 SYSCALL=execve AUID="root" UID="root"'
    )
    record = parse_line(line)
    assert record.fields["uid"] == "0"
    assert "ARCH" not in record.fields
    assert record.enriched == {"ARCH": "x86_64", "SYSCALL": "execve", "AUID": "root", "UID": "root"}


def test_multiple_keys() -> None:
    fields = fields_of("key=6B31016B32")
    assert fields["key"] == "k1\x01k2"


# Pieces of bodies, good and broken: keys, quotes that close or run on, hex, absent values,
# repeated keys, `=` in odd places, Unicode whitespace (\x1c-\x1f split too), no single quotes.
BODY_PIECES = st.sampled_from(
    [
        "comm=",
        "exe=",
        "a0=",
        "name=",
        "key=",
        "k",
        "=",
        "==",
        '"',
        '""',
        '"a b"',
        '"x"y',
        "(null)",
        "?",
        "(none)",
        "2F746D70",
        "41",
        "/usr/bin/cat",
        " ",
        "  ",
        "\t",
        "\x1d",
        "\x1f",
        "é",
    ]
)


EDGE_BODIES = [  # each found once to separate a wrong token split from the scan
    'comm=" a=1',
    'comm="',
    'comm="x" comm="y"',
    "k=1 k=2",
    "k=(null) k=2",
    "k=? k=",
    'k="" k=1',
    'k="a"b" x=1',
    "=x a=1",
    'a"b=1',
    "a=1\tb=2",
    "a=1  b=2 ",
    "a=1\x1cb=2",
    "a=1\u3000b=2",
]


@pytest.mark.parametrize("body", EDGE_BODIES)
def test_the_token_split_on_edge_bodies(body: str) -> None:
    split = parse_fields_fast("SYSCALL", body)
    assert split is None or split == parse_fields_slow("SYSCALL", body)


@given(st.lists(BODY_PIECES, max_size=14).map("".join), st.sampled_from(["SYSCALL", "EXECVE"]))
def test_the_token_split_gives_what_the_field_scan_gives(body: str, rtype: str) -> None:
    split = parse_fields_fast(rtype, body)
    assert split is None or split == parse_fields_slow(rtype, body)


def test_usual_kernel_bodies_take_the_token_split() -> None:
    body = 'arch=c000003e syscall=257 success=yes exit=3 tty=(none) comm="cat" key=(null) a0=2f'
    assert (
        parse_fields_fast("SYSCALL", body) == parse_fields_slow("SYSCALL", body) == fields_of(body)
    )
    assert parse_fields_fast("SYSCALL", 'comm="a b"') is None  # a quote that runs on: the scan


SYSCALL_BODY = (
    "arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd1 a2=0 a3=0 items=1 "
    "ppid=1 pid=812 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
    'tty=(none) ses=4294967295 comm="cron" exe="/usr/sbin/cron" subj=unconfined key=(null)'
)
# Bodies around the cut between the call and the task part: the same field on both sides,
# absent values, quotes running over the cut, the mark inside a quoted value.
TASK_PIECES = st.sampled_from(
    [
        " ppid=1",
        " ppid=",
        "ppid=2",
        " pid=3",
        " exit=4",
        " exit=(null)",
        ' comm="a',
        'comm="b"',
        '"',
        " ",
        "?",
        "'",
        "x",
        " key=6B",
        "=",
        ' exe="/bin/sh"',
        ' ppid="',
        "\t",
    ],
)


@given(st.lists(TASK_PIECES, max_size=10).map("".join))
@example("exit=4 ppid=1 exit=5 pid=2")
@example("exit=4 ppid=1 pid=2")
@example("exit=(null) ppid=1 exit=5")
@example("k='a b' ppid=1 pid=2")
@example('comm="a ppid=1 b"')
def test_syscall_bodies_parse_as_a_whole(body: str) -> None:
    expected = parse_fields("SYSCALL", body)
    first = syscall_fields(body)
    assert first == expected
    assert list(first) == list(expected)  # the same order of fields
    first["injected"] = "x"  # a caller's change must not reach the cached task part
    assert syscall_fields(body) == expected


def test_a_syscall_task_part_is_parsed_once() -> None:
    first = syscall_fields(SYSCALL_BODY)
    second = syscall_fields(SYSCALL_BODY.replace("a1=7ffd1", "a1=7ffd2"))
    assert first == {**parse_fields("SYSCALL", SYSCALL_BODY)}
    assert second["a1"] == "7ffd2" and second["comm"] == "cron"
    assert first is not second


# The call part as the kernel writes it, then values and keys that take it off the usual
# layout: absent, quoted, empty, odd characters, a field missing, added, repeated or moved.
CALL_VALUES = st.sampled_from(
    ["c000003e", "257", "yes", "3", "", "?", "(null)", '"q"', 'a"b', "=", "x=y", "2F746D70", "é"]
)
CALL_TASKS = st.sampled_from(
    [
        'ppid=1 pid=2 comm="a" exe="/bin/a" key=(null)',
        "ppid=1 exit=9 a0=7 pid=2",
        "ppid=1 items=? arch=x",
        "ppid=",
        'ppid=1 comm="a',
        "ppid=1\tpid=2",
    ]
)


@st.composite
def call_bodies(draw: st.DrawFn) -> str:
    pairs = [[key, draw(st.sampled_from(["1", "yes", "ffffff9c"]))] for key in fields.CALL_KEYS]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(pairs) - 1))
        change = draw(st.sampled_from(["value", "drop", "repeat", "add", "swap"]))
        if change == "value":
            pairs[at][1] = draw(CALL_VALUES)
        elif change == "drop" and len(pairs) > 1:
            del pairs[at]
        elif change == "repeat":
            pairs.insert(at, [pairs[at][0], draw(CALL_VALUES)])
        elif change == "add":
            pairs.insert(at, [draw(st.sampled_from(["per", "k", "ppid"])), draw(CALL_VALUES)])
        elif change == "swap" and at + 1 < len(pairs):
            pairs[at], pairs[at + 1] = pairs[at + 1], pairs[at]
    gap = draw(st.sampled_from([" ", " ", " ", "  ", "\t"]))
    return gap.join(f"{key}={value}" for key, value in pairs) + " " + draw(CALL_TASKS)


@given(call_bodies())
@example(SYSCALL_BODY)
@example(SYSCALL_BODY.replace("exit=3", "exit=?"))
@example(SYSCALL_BODY.replace("items=1", "items=1 per=400000"))
@example(SYSCALL_BODY.replace("a2=0", 'a2="0"'))
@example(SYSCALL_BODY.replace("a2=0", "a2=(null)"))
@example(SYSCALL_BODY.replace("a2=0", 'a2=0"'))
@example(SYSCALL_BODY.replace("a2=0", "a2="))
@example(SYSCALL_BODY.replace("a2=0 ", "a2=0  "))
@example(SYSCALL_BODY.replace("items=1", "items=1 "))
@example(SYSCALL_BODY.replace("a2=0 a3=0", "a3=0 a2=0"))
@example(SYSCALL_BODY.replace("a2=0 a3=0", "a2=0 a2=1 a3=0"))
@example(SYSCALL_BODY.replace("ppid=1", "ppid=1 a2=5 exit=7"))
def test_the_usual_call_part_gives_what_the_whole_parse_gives(body: str) -> None:
    expected = parse_fields("SYSCALL", body)
    for _ in range(2):  # the template made, then taken from the cache
        found = syscall_fields(body)
        assert found == expected
        assert list(found) == list(expected)


def test_the_usual_call_part_fills_the_template() -> None:
    at = SYSCALL_BODY.find(fields.TASK_MARK)
    template = fields._task_template(SYSCALL_BODY[at + 1 :])
    assert template is not None
    found = fields._usual_call(template, SYSCALL_BODY, at)
    assert found == parse_fields("SYSCALL", SYSCALL_BODY)
    assert found is not template and template["a1"] == ""
    assert fields._usual_call(template, SYSCALL_BODY.replace("exit=3", "exit=?"), at) is None
