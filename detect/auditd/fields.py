"""Record bodies to field dicts: quotes, hex-encoded values, absent values, nested msg='...'.

The audit field dictionary says which fields are "encoded": such a value is a double-quoted
string, or bare hex when it holds special characters. Only unquoted values are hex-decoded. Bytes
that are not UTF-8 are kept losslessly as surrogate escapes (`errors="surrogateescape"`).
"""

from __future__ import annotations

import re
from typing import Final

from detect.kernel import tables

# key=value where value is "double quoted", 'single quoted' (user-space msg='...') or bare;
# quoted values come out without their quotes. A missing closing quote takes the rest; inside
# msg='...' a quote followed by a non-space (it's) does not close it.
FIELD_RE: Final = re.compile(r"([^\s=\"']+)=(?:\"([^\"]*)\"?|'((?:[^']|'(?=\S))*)'?|(\S*))")
# ENRICHED values: "quoted", bare, or a {...} structure with spaces (SADDR={ saddr_fam=inet ... }).
ENRICHED_RE: Final = re.compile(r"([^\s=\"']+)=(?:\"([^\"]*)\"?|(\{[^}]*\}?)|(\S*))")
HEX_RE: Final = re.compile(r"(?:[0-9A-F]{2})+")
ABSENT: Final = frozenset(("(null)", "?"))
QUOTE: Final = 34  # ord('"')
NESTED: Final = "msg"
AVC_TYPES: Final = frozenset(("AVC", "USER_AVC"))
# Kept as hex: binary structures interpreted elsewhere.
BINARY_FIELDS: Final = frozenset(("saddr",))
AVC_RE: Final = re.compile(r"avc:\s+(\w+)\s+\{\s*([^}]*?)\s*\}")
# Field names remembered per record type (garbage has endless names).
ENCODED_CACHE_LIMIT: Final = 4096
_encoded_cache: dict[str, dict[str, bool]] = {}
BODY_CACHE_SIZE: Final = 8192
_body_cache: dict[tuple[str, str], dict[str, str]] = {}
# ENRICHED parts recur as bodies do (the names of a process's ids, its syscalls): bounded too.
ENRICHED_CACHE_SIZE: Final = 4096
_enriched_cache: dict[str, dict[str, str]] = {}
# A SYSCALL body is the call (arch= … items=), then the task (ppid= … key=, audit_log_task_info),
# which is the same text for every call a process makes: 9,520 distinct in 422,648 SYSCALL
# records of the 2M-record bench corpus. Its fields are parsed once per text (bounded), into a
# template: the call's fields first (empty), then the task's. The call part the kernel writes
# (audit_log_exit) is nearly always CALL_KEYS in that order, plain values none of them encoded:
# such a body's fields are the template's copy with the call's values put in place.
TASK_MARK: Final = " ppid="
TASK_CACHE_SIZE: Final = 4096  # ~1 KB each: names and recurring values are stored once
# (tuple[str, ...]: mypyc keeps a fixed-length tuple unboxed, and makes a new tuple object of it
# each time it is indexed by a variable)
CALL_KEYS: Final[tuple[str, ...]] = (
    "arch",
    "syscall",
    "success",
    "exit",
    "a0",
    "a1",
    "a2",
    "a3",
    "items",
)
CALL_PREFIXES: Final[tuple[str, ...]] = tuple(key + "=" for key in CALL_KEYS)
LAST_CALL_KEY: Final = len(CALL_KEYS) - 1
_task_cache: dict[str, dict[str, str]] = {}  # task text -> template
_task_texts: dict[str, str] = {}  # the one copy of each name and value in _task_cache


def decode_hex(value: str) -> str:
    """Bare hex to text; non-UTF-8 bytes become surrogate escapes, never lost."""
    return bytes.fromhex(value).decode("utf-8", "surrogateescape")


def _is_encoded(known: dict[str, bool], rtype: str, key: str) -> bool:
    encoded = key not in BINARY_FIELDS and tables.is_encoded_field(rtype, key)
    if len(known) < ENCODED_CACHE_LIMIT:
        known[key] = encoded
    return encoded


def cached_fields(rtype: str, body: str) -> dict[str, str]:
    """parse_fields through a bounded cache: many bodies recur verbatim (the PATH records of
    ld.so and common libraries, CWD, PROCTITLE of busy programs). Callers must not mutate."""
    if rtype == "SYSCALL":
        return syscall_fields(body)
    if rtype == "EXECVE":  # arguments: they seldom recur
        return parse_fields(rtype, body)
    key = (rtype, body)
    found = _body_cache.get(key)
    if found is None:
        if len(_body_cache) >= BODY_CACHE_SIZE:
            _body_cache.clear()
        found = _body_cache[key] = parse_fields(rtype, body)
    return found


def syscall_fields(body: str) -> dict[str, str]:
    """`parse_fields("SYSCALL", body)`, with the task part's fields from a bounded cache (a
    new dict each time). Exact: the token split reads each token alone, so the fields of a
    body cut at a space are those of its two parts, the first part's winning a field both
    have; a body the split refuses, or with a single quote, is parsed whole."""
    at = body.find(TASK_MARK)
    if at < 0 or "'" in body:
        return parse_fields("SYSCALL", body)
    text = body[at + 1 :]
    template = _task_template(text)
    if template is None:
        return parse_fields("SYSCALL", body)
    if body[:at].isprintable():  # the task part is (it was parsed): so is the whole body
        fields = _usual_call(template, body, at)
        if fields is not None:
            return fields
    call = parse_fields_fast("SYSCALL", body[:at])
    task = parse_fields_fast("SYSCALL", text)
    if call is None or task is None:
        return parse_fields("SYSCALL", body)
    merged = {**call, **task}
    if len(merged) < len(call) + len(task):  # a field in both parts: the call's wins
        merged = call
        for key, value in task.items():
            merged.setdefault(key, value)
    return merged


def _usual_call(template: dict[str, str], body: str, end: int) -> dict[str, str] | None:
    """The fields of a printable SYSCALL body whose call part (`body[:end]`) is CALL_KEYS in
    order, each once, each with a plain value (not quoted, not absent), or None: the token
    split would give each its value, and the template holds the rest in order (a task field
    that the call part also has is the call's, at the call's place, as with the split)."""
    fields = template.copy()
    at = 0
    for index in range(len(CALL_KEYS)):
        prefix = CALL_PREFIXES[index]
        first = at + len(prefix)
        if body.find(prefix, at, first) != at:
            return None
        stop = body.find(" ", first, end)
        if index == LAST_CALL_KEY:
            if stop >= 0:
                return None
            stop = end
        elif stop < 0:
            return None
        if first < stop and ord(body[first]) == QUOTE:
            return None
        value = body[first:stop]
        if value == "?" or value == "(null)":  # ABSENT
            return None
        fields[CALL_KEYS[index]] = value
        at = stop + 1
    return fields


def _task_template(text: str) -> dict[str, str] | None:
    """The template of a task part (see TASK_MARK), or None when the token split refuses it
    or a call field is encoded (then no template would be exact)."""
    found = _task_cache.get(text)
    if found is None:
        parsed = parse_fields_fast("SYSCALL", text)
        if parsed is None or not _plain_call_keys():
            return None
        if len(_task_cache) >= TASK_CACHE_SIZE:
            _task_cache.clear()
            _task_texts.clear()
        share = _task_texts.setdefault
        found = dict.fromkeys(CALL_KEYS, "")
        for key, value in parsed.items():
            found.setdefault(share(key, key), share(value, value))
        _task_cache[text] = found
    return found


def _plain_call_keys() -> bool:
    """Whether no field of CALL_KEYS is encoded (the field dictionary says so: a template
    puts their values in as they are)."""
    known = _encoded_known("SYSCALL")
    for key in CALL_KEYS:
        encoded = known.get(key)
        if encoded is None:
            encoded = _is_encoded(known, "SYSCALL", key)
        if encoded:
            return False
    return True


def parse_fields(rtype: str, body: str) -> dict[str, str]:
    """All fields of a record body; the first occurrence of a repeated key wins."""
    out = parse_fields_fast(rtype, body) if "'" not in body else None
    if out is None:
        out = parse_fields_slow(rtype, body)
    if rtype in AVC_TYPES:
        _add_avc(body, out)
    return out


def _encoded_known(rtype: str) -> dict[str, bool]:
    """Which field names of `rtype` are encoded, as far as seen (see `_is_encoded`)."""
    known = _encoded_cache.get(rtype)
    if known is None:
        known = _encoded_cache[rtype] = {}
    return known


def parse_fields_fast(rtype: str, body: str) -> dict[str, str] | None:
    """`parse_fields_slow` for the usual body, token by token (twice as fast: 3.3 µs for a SYSCALL
    body, compiled), or None when a token is not a plain `key=value` / `key="value"`: then
    only the scan gives the same.

    Exact for printable bodies without single quotes: FIELD_RE's matches are then the tokens
    between spaces that hold `=` (a token without one holds no match; one whose key would hold
    a quote or be empty may hold a match further in: None), with a double-quoted value closed
    at the token's end (otherwise the quote may run on: None). A body that is not printable
    may hold other whitespace (tabs, control or Unicode spaces): None, the scan splits there."""
    if not body.isprintable():
        return None
    known = _encoded_known(rtype)
    out: dict[str, str] = {}
    end = len(body)
    at = 0
    while at < end:
        stop = body.find(" ", at)
        if stop < 0:
            stop = end
        equals = body.find("=", at, stop)
        if equals >= 0:
            if equals == at or body.find('"', at, equals) >= 0:
                return None
            key = body[at:equals]
            first = equals + 1
            if first < stop and ord(body[first]) == QUOTE:
                last = stop - 1
                if (
                    last == first
                    or ord(body[last]) != QUOTE
                    or body.find('"', first + 1, last) >= 0
                ):
                    return None
                out.setdefault(key, body[first + 1 : last])
            else:
                value = body[first:stop]
                if value not in ABSENT:
                    out.setdefault(key, _bare(known, rtype, key, value))
        at = stop + 1
    return out


def _bare(known: dict[str, bool], rtype: str, key: str, value: str) -> str:
    """An unquoted value: hex-decoded when the field is encoded and the value is hex."""
    if not value:
        return value
    encoded = known.get(key)
    if encoded is None:
        encoded = _is_encoded(known, rtype, key)
    return decode_hex(value) if encoded and HEX_RE.fullmatch(value) else value


def parse_fields_slow(rtype: str, body: str) -> dict[str, str]:
    """Every FIELD_RE match of a body: the general case (single quotes, quotes that run on)."""
    known = _encoded_known(rtype)
    is_known = known.get
    is_hex = HEX_RE.fullmatch
    out: dict[str, str] = {}
    for key, quoted, single, bare in FIELD_RE.findall(body):
        if bare:
            if bare in ABSENT or key in out:
                continue
            encoded = is_known(key)
            if encoded is None:
                encoded = _is_encoded(known, rtype, key)
            out[key] = decode_hex(bare) if encoded and is_hex(bare) else bare
        elif key in out:
            continue
        elif single and key == NESTED:
            _merge_nested(rtype, single, out)
        else:
            out[key] = quoted or single
    return out


def _merge_nested(rtype: str, inner: str, out: dict[str, str]) -> None:
    for key, value in parse_fields(rtype, inner).items():
        out.setdefault(key, value)
    if "=" not in inner:
        out.setdefault(NESTED, inner)


def _add_avc(body: str, out: dict[str, str]) -> None:
    match = AVC_RE.search(body)
    if match:
        out.setdefault("seresult", match.group(1))
        out.setdefault("seperms", ",".join(match.group(2).split()))


def cached_enriched(text: str) -> dict[str, str]:
    """parse_enriched through a bounded cache. Callers must not mutate."""
    found = _enriched_cache.get(text)
    if found is None:
        if len(_enriched_cache) >= ENRICHED_CACHE_SIZE:
            _enriched_cache.clear()
        found = _enriched_cache[text] = parse_enriched(text)
    return found


def parse_enriched(text: str) -> dict[str, str]:
    """The ENRICHED part: `NAME=value` or `NAME="value"`, already interpreted by auditd."""
    out: dict[str, str] = {}
    for key, quoted, braced, bare in ENRICHED_RE.findall(text):
        out.setdefault(key, bare or quoted or braced)
    return out
