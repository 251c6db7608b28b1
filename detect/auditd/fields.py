"""Record bodies to field dicts: quotes, hex-encoded values, absent values, nested msg='...'.

The audit field dictionary says which fields are "encoded": such a value is a double-quoted
string, or bare hex when it holds special characters. Only unquoted values are hex-decoded. Bytes
that are not UTF-8 are kept losslessly as surrogate escapes (`errors="surrogateescape"`).
"""

from __future__ import annotations

import re

from detect.auditd import tables

# key=value where value is "double quoted", 'single quoted' (user-space msg='...') or bare.
FIELD_RE = re.compile(r"([^\s=\"']+)=(\"[^\"]*\"?|'[^']*'?|\S*)")
HEX_RE = re.compile(r"(?:[0-9A-F]{2})+")
ABSENT = frozenset(("(null)", "?"))
NESTED = "msg"
# Kept as hex: binary structures interpreted elsewhere.
BINARY_FIELDS = frozenset(("saddr",))
AVC_RE = re.compile(r"avc:\s+(\w+)\s+\{\s*([^}]*?)\s*\}")


def decode_hex(value: str) -> str:
    """Bare hex to text; non-UTF-8 bytes become surrogate escapes, never lost."""
    return bytes.fromhex(value).decode("utf-8", "surrogateescape")


def _decode(rtype: str, key: str, value: str) -> str | None:
    first = value[:1]
    if first == '"':
        return value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
    if value in ABSENT:
        return None
    if (
        key not in BINARY_FIELDS
        and tables.is_encoded_field(rtype, key)
        and HEX_RE.fullmatch(value) is not None
    ):
        return decode_hex(value)
    return value


def parse_fields(rtype: str, body: str) -> dict[str, str]:
    """All fields of a record body; the first occurrence of a repeated key wins."""
    out: dict[str, str] = {}
    for key, value in FIELD_RE.findall(body):
        if value[:1] == "'" and key == NESTED:
            _merge_nested(rtype, value, out)
            continue
        if key in out:
            continue
        decoded = _decode(rtype, key, value)
        if decoded is not None:
            out[key] = decoded
    if rtype in ("AVC", "USER_AVC"):
        _add_avc(body, out)
    return out


def _merge_nested(rtype: str, value: str, out: dict[str, str]) -> None:
    inner = value[1:-1] if value.endswith("'") and len(value) > 1 else value[1:]
    for key, item in FIELD_RE.findall(inner):
        if key in out:
            continue
        decoded = _decode(rtype, key, item.strip("'") if item[:1] == "'" else item)
        if decoded is not None:
            out[key] = decoded
    if "=" not in inner:
        out.setdefault(NESTED, inner)


def _add_avc(body: str, out: dict[str, str]) -> None:
    match = AVC_RE.search(body)
    if match:
        out.setdefault("seresult", match.group(1))
        out.setdefault("seperms", ",".join(match.group(2).split()))


def parse_enriched(text: str) -> dict[str, str]:
    """The ENRICHED part: `NAME=value` or `NAME="value"`, already interpreted by auditd."""
    out: dict[str, str] = {}
    for key, value in FIELD_RE.findall(text):
        if value[:1] == '"':
            value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        out.setdefault(key, value)
    return out
