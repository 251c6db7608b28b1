"""Every value modifier that makes sense on Linux: one view that matches, one that does not."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from detect.sigma.compile import CompileError
from tests.rules.build import rule_from


def matches(key: str, value: Any, view: dict[str, Any], **options: Any) -> bool:
    return rule_from({"sel": {key: value}, "condition": "sel"}, **options).match(view)


# (key, rule value, field value that matches, field value that does not)
CASES: list[tuple[str, Any, Any, Any]] = [
    ("f", "Bash", "bash", "bas"),
    ("f|contains", "BIN/", "/usr/bin/x", "/usr/sbn/x"),
    ("f|startswith", "/usr/", "/USR/bin", "/bin/usr/"),
    ("f|endswith", "/bash", "/bin/BASH", "/bin/bash2"),
    ("f|contains|all", ["-a", "-b"], "cmd -b -a", "cmd -a"),
    ("f|re", "^a.c$", "abc", "ABC"),
    ("f|re|i", "^a.c$", "ABC", "abbc"),
    ("f|re|m", "^b$", "a\nb\nc", "a\nbc"),
    ("f|re|s", "^a.b$", "a\nb", "a\n\nb"),
    ("f|re", "^a.b$", "axb", "a\nb"),  # without `s`, `.` does not match a newline
    ("f|base64", "hello", "aGVsbG8=", "hello"),
    ("f|base64|contains", "hello", "xx aGVsbG8= xx", "aGVsbG9="),
    ("f|windash|contains", " -s ", "sudo /s x", "sudo s x"),
    ("f|windash", "-s", "\u2013s", "+s"),
    ("f|cidr", "10.0.0.0/8", "10.200.3.4", "11.0.0.1"),
    ("f|cidr", "2001:db8::/32", "2001:DB8::1", "2001:db9::1"),
    ("f|cidr", "10.0.0.0/8", "::ffff:10.1.2.3", "::ffff:11.1.2.3"),
    ("f|cidr", "192.168.1.0/24", "192.168.1.255", "not an address"),
    ("f|gt", 5, "6", "5"),
    ("f|gte", 5, 5, "4"),
    ("f|lt", 5, "4.5", "5"),
    ("f|lte", 5, "5", "six"),
    ("f|cased", "Bash", "Bash", "bash"),
    ("f|contains|cased", "Bin", "/usr/Bin", "/usr/bin"),
    ("f|startswith|cased", "/Usr", "/Usr/x", "/usr/x"),
    ("f|endswith|cased", "X", "aX", "ax"),
    ("f|neq", "root", "daemon", "ROOT"),
    ("f", 5, "5", "6"),
    ("f", 5, 5, "five"),
    ("f", 0, "0", ""),
    ("f", True, "true", "false"),
    ("f", "", "", "x"),
]


@pytest.mark.parametrize(("key", "value", "good", "bad"), CASES)
def test_modifier_matches_and_rejects(key: str, value: Any, good: Any, bad: Any) -> None:
    assert matches(key, value, {"f": good})
    assert not matches(key, value, {"f": bad})


def test_base64offset_finds_the_value_at_every_offset() -> None:
    for prefix in (b"", b"x", b"xy"):
        encoded = base64.b64encode(prefix + b"curl http://evil" + b"tail").decode()
        assert matches("f|base64offset|contains", "curl http://evil", {"f": encoded})
    other = base64.b64encode(b"curl http://good").decode()
    assert not matches("f|base64offset|contains", "curl http://evil", {"f": other})


def test_exists() -> None:
    assert matches("f|exists", True, {"f": "x"})
    assert not matches("f|exists", True, {"g": "x"})
    assert not matches("f|exists", True, {"f": None})
    assert matches("f|exists", False, {"g": "x"})
    assert not matches("f|exists", False, {"f": ""})


def test_null_matches_a_missing_or_empty_field() -> None:
    assert matches("f", None, {})
    assert matches("f", None, {"f": None})
    assert matches("f", None, {"f": []})
    assert not matches("f", None, {"f": "x"})
    assert not matches("f", None, {"f": ""})


def test_fieldref_compares_two_fields() -> None:
    assert matches("f|fieldref", "g", {"f": "Root", "g": "root"})
    assert not matches("f|fieldref", "g", {"f": "root", "g": "daemon"})
    assert not matches("f|fieldref", "g", {"f": "root"})
    assert matches("f|fieldref|startswith", "g", {"f": "/tmp/x", "g": "/tmp"})
    assert not matches("f|fieldref|startswith", "g", {"f": "/var/x", "g": "/tmp"})
    assert matches("f|fieldref|endswith", "g", {"f": "/tmp/x", "g": "x"})
    assert matches("f|fieldref|contains", "g", {"f": "a-mid-b", "g": "MID"})
    assert not matches("f|fieldref|contains", "g", {"f": "a-b", "g": "mid"})


def test_expand_resolves_configured_placeholders() -> None:
    places = {"placeholders": {"dirs": ["/tmp", "/dev/shm"]}}
    assert matches("f|expand", "%dirs%/*", {"f": "/dev/shm/x"}, **places)
    assert matches("f|expand", "%dirs%/*", {"f": "/TMP/x"}, **places)
    assert not matches("f|expand", "%dirs%/*", {"f": "/var/tmp/x"}, **places)


def test_expand_in_a_regex() -> None:
    places = {"placeholders": {"shells": ["(ba)?sh", "zsh"]}}
    assert matches("f|re|expand", "/(%shells%)$", {"f": "/bin/sh"}, **places)
    assert not matches("f|re|expand", "/(%shells%)$", {"f": "/bin/csh"}, **places)


def test_expand_with_an_unresolved_placeholder_is_a_compile_error() -> None:
    with pytest.raises(CompileError) as caught:
        matches("f|expand", "%nowhere%/x", {"f": "x"}, placeholders={"dirs": ["/tmp"]})
    assert caught.value == CompileError(
        "unresolved placeholder %nowhere%", ("detection", "sel", "f|expand")
    )


def test_cased_regex_is_the_default_and_i_relaxes_it() -> None:
    assert not matches("f|re", "bash", {"f": "BASH"})
    assert matches("f|re|i", "bash", {"f": "BASH"})


def test_regex_searches_anywhere_in_the_value() -> None:
    assert matches("f|re", "b+c", {"f": "xxabbbcxx"})


def test_regex_on_undecodable_bytes_does_not_fail() -> None:
    assert matches("f|re", "evil", {"f": "evil\udcff"})
    assert not matches("f|re", "good", {"f": "evil\udcff"})


def test_numbers_compare_as_numbers_only_when_the_rule_value_is_a_number() -> None:
    assert matches("f", 59, {"f": "059"})
    assert not matches("f", "59", {"f": "059"})
    assert matches("f", "59", {"f": 59})
    assert not matches("f", 59, {"f": "5_9"})


def test_timestamp_part_modifiers_are_reported() -> None:
    with pytest.raises(CompileError, match="timestamp part modifiers"):
        matches("f|hour", 3, {"f": "3"})
