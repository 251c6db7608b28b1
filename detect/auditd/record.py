"""One audit record: the header is parsed eagerly, the body only when something asks.

A line looks like `[node=N ]type=T msg=audit(SEC.MSEC:SERIAL): BODY[\\x1dENRICHED]`. The kernel's
own printk form (`audit: type=1300 audit(...): ...`) and syslog prefixes before `type=` are
accepted too. `type` may be a name, a number, or `UNKNOWN[n]`; all resolve to the dictionary name.
"""

from __future__ import annotations

import re
import sys
from typing import Final

from detect.auditd import fields as body_fields
from detect.auditd.numbers import U32_MAX, parse_uint
from detect.core.defaults import MAX_LINE
from detect.core.errors import Location, ParseError
from detect.kernel import tables

EventKey = tuple[str | None, str, int]  # (node, audit stamp, serial): what names an event

ENRICHED_SEPARATOR: Final = "\x1d"
# The usual line, in one match: [node=N ]type=T msg=audit(SEC.MSEC:SERIAL):
HEADER_RE: Final = re.compile(  # ASCII digits only: `\d` takes every script's digits
    r"(?:node=([^ ]*) )?type=([A-Z0-9_\[\]]+) "
    r"msg=audit\(([0-9]{1,11}\.[0-9]{1,9}):([0-9]{1,20})\): ?"
)
TYPE_TOKEN_RE: Final = re.compile(r"[A-Z0-9_\[\]]+")  # HEADER_RE's type token
# type tokens seen to match TYPE_TOKEN_RE, with the record type each names (bounded)
HEADER_TYPES: Final[dict[str, str]] = {}
COLON: Final = 58  # ord(":")
SPACE: Final = 32  # ord(" ")
TYPE_RANGE: Final = (1000, 2999)  # every audit record type number lies here
MAX_KNOWN_TYPES: Final = 4096  # garbage can invent endless type tokens
MAX_SECONDS_DIGITS: Final = 11  # up to the year 5138; longer stamps are garbage
SERIAL_RANGE: Final = "serial out of range (the kernel's is 32 bits)"

NO_ENRICHED: Final[dict[str, str]] = {}  # shared, never mutated: most logs are RAW


class Record:
    """A parsed audit record. `line` is kept verbatim (with its newline, if it had one); the
    body is sliced from it and decoded only when `fields` or `enriched` is first read."""

    __slots__ = (
        "_enriched",
        "_fields",
        "body_at",
        "interpreted",
        "line",
        "lineno",
        "node",
        "serial",
        "source",
        "stamp",
        "type",
    )

    def __init__(
        self,
        node: str | None,
        rtype: str,
        stamp: str,
        serial: int,
        line: str,
        body_at: int,
        source: str = "-",
        lineno: int = 0,
    ) -> None:
        self.node = node
        self.type = rtype
        self.stamp = stamp
        self.serial = serial
        self.line = line
        self.body_at = body_at
        self.source = source
        self.lineno = lineno
        self.interpreted: dict[str, str] | None = None  # filled once by interpret
        self._fields: dict[str, str] | None = None  # parsed on first use
        self._enriched: dict[str, str] | None = None

    @property
    def fields(self) -> dict[str, str]:
        """Raw fields: unquoted, hex decoded where encoded, absent dropped (parsed once)."""
        fields = self._fields
        if fields is None:
            self._parse()
            fields = self._fields
            assert fields is not None
        return fields

    @property
    def enriched(self) -> dict[str, str]:
        """The interpreted fields an ENRICHED log carries after 0x1D (parsed once; shared
        between records with the same text: do not mutate)."""
        enriched = self._enriched
        if enriched is None:
            self._parse()
            enriched = self._enriched
            assert enriched is not None
        return enriched

    def _parse(self) -> None:
        """`body` split at the ENRICHED separator, each part sliced from the line at once."""
        line, start = self.line, self.body_at
        end = len(line) - 1 if line.endswith("\n") else len(line)
        split = line.find(ENRICHED_SEPARATOR, start, end)
        if split < 0:
            self._fields = body_fields.cached_fields(self.type, line[start:end])
            self._enriched = NO_ENRICHED
        else:
            self._fields = body_fields.cached_fields(self.type, line[start:split])
            self._enriched = body_fields.cached_enriched(line[split + 1 : end])

    @property
    def body(self) -> str:
        body = self.line[self.body_at :]
        return body[:-1] if body.endswith("\n") else body

    @property
    def time_ms(self) -> int:
        return stamp_to_ms(self.stamp)

    @property
    def location(self) -> Location:
        return Location(self.source, self.lineno)

    def __repr__(self) -> str:
        return f"Record({self.type} {self.node or ''} {self.stamp}:{self.serial})"


def usual_stamp(stamp: str) -> bool:
    """Whether a stamp has the usual three decimals (`SECONDS.MMM`): its digits, the dot
    left out, are then its milliseconds."""
    dot = stamp.find(".")
    return dot >= 0 and len(stamp) - dot == 4


def stamp_to_ms(stamp: str) -> int:
    if usual_stamp(stamp):
        return int(stamp.replace(".", ""))
    seconds, _, millis = stamp.partition(".")
    return int(seconds) * 1000 + int(millis[:3].ljust(3, "0"))


KNOWN_TYPES: Final[dict[str, str]] = {}  # type token -> name, filled as tokens are seen


def canonical_type(token: str) -> str | None:
    """`SYSCALL`, `1300` and `UNKNOWN[1300]` all give `SYSCALL`; unknown numbers stay UNKNOWN[n]."""
    number = token
    if token.startswith("UNKNOWN[") and token.endswith("]"):
        number = token[8:-1]
    name: str | None = None
    value = parse_uint(number, TYPE_RANGE[1])
    if value is not None:
        if value >= TYPE_RANGE[0]:
            name = tables.record_type_name(value) or f"UNKNOWN[{value}]"
    elif token.replace("_", "").isalnum() and token.isupper():
        name = token
    if name is not None:
        # one copy of each name, the one string literals share: `record.type == "SYSCALL"`
        # and dict lookups by type (everywhere, per record) then compare by identity
        name = sys.intern(name)
        if len(KNOWN_TYPES) < MAX_KNOWN_TYPES:
            KNOWN_TYPES[token] = name
    return name


def _fail(reason: str, line: str, source: str, lineno: int) -> ParseError:
    return ParseError(reason, Location(source, lineno), line[:120].rstrip("\n"))


def parse_line(line: str, source: str = "-", lineno: int = 0, max_line: int = MAX_LINE) -> Record:
    """Parse one line into a Record; raise ParseError (with where) when it is not an audit line,
    or is longer than `max_line` bytes (`--max-line-bytes`)."""
    if len(line) > max_line >> 2 and line_bytes(line) > max_line:  # 4 bytes a character at most
        raise _fail(too_long(max_line), line, source, lineno)
    record = _parse_line_fast(line, source, lineno)
    if record is not None:
        return record
    match = HEADER_RE.match(line)
    if match is None:
        return _parse_line_slow(line, source, lineno)
    node, token, stamp, serial = match.groups()
    rtype = _type_of(token, line, source, lineno)
    number = _serial(serial, line, source, lineno)
    return Record(node or None, rtype, stamp, number, line, match.end(), source, lineno)


def line_bytes(line: str) -> int:
    """A line's length in bytes as read, its newline not counted. Sources decode with
    surrogateescape: an undecodable byte is one lone surrogate, which "replace" counts as the
    one byte it was (and no string makes this raise)."""
    size = len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
    return size - 1 if line.endswith("\n") else size


def too_long(max_line: int) -> str:
    """The reason a line longer than `max_line` bytes is refused: the bound and its flag."""
    for unit, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if max_line % unit == 0:
            return f"line longer than {max_line // unit} {name} (--max-line-bytes {max_line})"
    return f"line longer than {max_line} bytes (--max-line-bytes)"


def _serial(serial: str, line: str, source: str, lineno: int) -> int:
    number = int(serial)  # ASCII digits: both callers checked
    if number > U32_MAX:
        raise _fail(SERIAL_RANGE, line, source, lineno)
    return number


def _type_of(token: str, line: str, source: str, lineno: int) -> str:
    rtype = KNOWN_TYPES.get(token) or canonical_type(token)
    if rtype is None:
        raise _fail("bad record type", line, source, lineno)
    return rtype


class _LastStamp:
    """The `SECONDS.MILLIS:SERIAL):` of the last header `_parse_line_fast` took, with its stamp
    and serial: an event's records come one after another, so most headers repeat it, and a
    header that starts with the very same text at the same place needs no checks (HEADER_RE
    gives it the same groups) and shares the stamp's one copy. One tuple, replaced whole:
    a thread never reads one header's text with another's stamp. The same for the last
    `node=NAME ` prefix and its name: lines of one node come in runs."""

    __slots__ = ("header", "node")

    def __init__(self) -> None:
        self.header: tuple[str, str, int] = ("\x00", "", 0)  # no line holds it: checked
        self.node: tuple[str, str | None] = ("\x00", None)  # `node=NAME type=`, NAME


LAST_STAMP: Final = _LastStamp()


# A header's parts, as read_header gives them: node, record type, stamp, serial, where the
# body starts (-1: not a usual header; the other parts are then meaningless). A tuple of fixed
# types: mypyc returns it unboxed, so a header read costs no object of its own.
Header = tuple[str | None, str, str, int, int]
NOT_USUAL: Final[Header] = (None, "", "", 0, -1)


def _parse_line_fast(line: str, source: str, lineno: int) -> Record | None:
    """HEADER_RE's match without the regex engine (a third of the cost) for headers with ASCII
    digits, or None: each part is cut where the regex requires its delimiter and checked
    against the regex's character class, so this takes what HEADER_RE takes, with the same
    groups (tests hold the two together); other lines go to the regex."""
    node, rtype, stamp, number, body_at = read_header(line, source, lineno)
    if body_at < 0:
        return None
    return Record(node, rtype, stamp, number, line, body_at, source, lineno)


def read_header(line: str, source: str, lineno: int) -> Header:
    """The parts of the header `_parse_line_fast` reads (NOT_USUAL where it gives None)."""
    node: str | None = None
    start = 0
    if not line.startswith("type="):
        start, node = _node_prefix(line)
        if start < 0:
            return NOT_USUAL
    space = line.find(" msg=audit(", start + 5)
    if space < 0:
        return NOT_USUAL
    token = line[start + 5 : space]
    rtype = HEADER_TYPES.get(token)  # None: not seen yet, the type is read once it is valid
    if rtype is None and TYPE_TOKEN_RE.fullmatch(token) is None:
        return NOT_USUAL
    opened = space + 11  # bounded searches: `SECONDS.MILLIS:` and `SERIAL)` are short
    size = len(line)
    text, stamp, number = LAST_STAMP.header
    if line.find(text, opened, opened + len(text)) == opened:  # startswith(text, opened)
        at = opened + len(text)
        body_at = at + 1 if at < size and ord(line[at]) == SPACE else at
        if rtype is None:
            rtype = _header_type(token, line, source, lineno)
        return node, rtype, stamp, number, body_at
    colon = line.find(":", opened, opened + MAX_SECONDS_DIGITS + 11)
    closed = line.find(")", colon + 1, colon + 22) if colon > 0 else -1
    if closed < 0 or closed + 1 >= size or ord(line[closed + 1]) != COLON:
        return NOT_USUAL
    stamp = line[opened:colon]
    serial = line[colon + 1 : closed]
    if not (_digits(serial, 20) and _stamp_digits(stamp)):
        return NOT_USUAL
    if rtype is None:
        rtype = _header_type(token, line, source, lineno)
    number = _serial(serial, line, source, lineno)
    LAST_STAMP.header = (line[opened : closed + 2], stamp, number)
    body_at = closed + 3 if closed + 2 < size and ord(line[closed + 2]) == SPACE else closed + 2
    return node, rtype, stamp, number, body_at


def _node_prefix(line: str) -> tuple[int, str | None]:
    """Where `type=` starts after a line's `node=NAME `, and NAME (None when empty); -1 when
    the line does not start so."""
    prefix, name = LAST_STAMP.node
    if line.startswith(prefix):  # `node=NAME type=`: NAME has no space, so it ends there
        return len(prefix) - 5, name
    if not line.startswith("node="):
        return -1, None
    start = line.find(" ", 5) + 1
    if start == 0 or line.find("type=", start, start + 5) != start:
        return -1, None
    name = line[5 : start - 1] or None
    LAST_STAMP.node = (line[: start + 5], name)
    return start, name


def _header_type(token: str, line: str, source: str, lineno: int) -> str:
    """The record type a token of HEADER_RE's class names (remembered, bounded), or raise."""
    rtype = _type_of(token, line, source, lineno)
    if len(HEADER_TYPES) < MAX_KNOWN_TYPES:
        HEADER_TYPES[token] = rtype
    return rtype


def _digits(text: str, most: int) -> bool:
    """Whether `text` is `[0-9]{1,most}` (str methods: C speed, also without mypyc)."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


def _stamp_digits(stamp: str) -> bool:
    """Whether `stamp` is `[0-9]{1,11}\\.[0-9]{1,9}`, as HEADER_RE takes it."""
    dot = stamp.find(".")
    if dot <= 0:
        return False
    return _digits(stamp[:dot], MAX_SECONDS_DIGITS) and _digits(stamp[dot + 1 :], 9)


def _parse_line_slow(line: str, source: str, lineno: int) -> Record:
    """The slow path: syslog prefixes, the kernel's printk form, and everything malformed."""
    node: str | None = None
    start = line.find("type=")
    if start < 0:
        raise _fail("no type= field", line, source, lineno)
    at = line.rfind("node=", 0, start)
    if at >= 0:
        node = line[at + 5 : start].split(" ", 1)[0] or None
    space = line.find(" ", start)
    if space < 0:
        raise _fail("no record header", line, source, lineno)
    rtype = canonical_type(line[start + 5 : space])
    if rtype is None:
        raise _fail("bad record type", line, source, lineno)
    open_at = line.find("audit(", space)
    close_at = line.find("):", open_at)
    if open_at < 0 or close_at < 0 or open_at - space > 6:
        raise _fail("no audit(timestamp:serial) header", line, source, lineno)
    stamp, colon, serial_text = line[open_at + 6 : close_at].partition(":")
    seconds, dot, millis = stamp.partition(".")
    serial = parse_uint(serial_text)
    if not (colon and dot and serial is not None):
        raise _fail("bad audit(timestamp:serial)", line, source, lineno)
    if not (parse_uint(seconds) is not None and parse_uint(millis) is not None):
        raise _fail("bad audit(timestamp:serial)", line, source, lineno)
    if len(seconds) > MAX_SECONDS_DIGITS or len(millis) > 9:
        raise _fail("absurd timestamp or serial", line, source, lineno)
    if serial > U32_MAX:
        raise _fail(SERIAL_RANGE, line, source, lineno)
    body_at = close_at + 3 if line.startswith(" ", close_at + 2) else close_at + 2
    return Record(node, rtype, stamp, serial, line, body_at, source, lineno)


def key_text(key: EventKey) -> str:
    """`node|stamp|serial`: an event key as text (checkpoints keep it so)."""
    node, stamp, serial = key
    return f"{node or ''}|{stamp}|{serial}"
