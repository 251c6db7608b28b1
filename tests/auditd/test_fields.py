"""Body fields: quoting, hex only when unquoted and encoded, absent values, nested msg, AVC."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from detect.auditd.fields import scan_fields, split_fields
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


@given(st.lists(BODY_PIECES, max_size=14).map("".join), st.sampled_from(["SYSCALL", "EXECVE"]))
def test_the_token_split_gives_what_the_field_scan_gives(body: str, rtype: str) -> None:
    split = split_fields(rtype, body)
    assert split is None or split == scan_fields(rtype, body)


def test_usual_kernel_bodies_take_the_token_split() -> None:
    body = 'arch=c000003e syscall=257 success=yes exit=3 tty=(none) comm="cat" key=(null) a0=2f'
    assert split_fields("SYSCALL", body) == scan_fields("SYSCALL", body) == fields_of(body)
    assert split_fields("SYSCALL", 'comm="a b"') is None  # a quote that runs on: the scan
