"""Regular expressions on RE2: linear time, so no rule can stall the engine.

Every pattern a rule brings (`|re` values and wildcard strings that are not plain prefix,
suffix or substring checks) is compiled here, once, and cached by its text. A pattern RE2
cannot compile (backreferences, lookaround) raises `RegexError`; it is never handed to a
backtracking engine. `QuietRE2Engine` is the same engine as a pySigma regex engine, so that
pySigma's own parse-time validation agrees with what runs and does not log to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

import re2
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import RegexEngine, RegexPattern

CACHE_SIZE = 4096
FLAG_LETTERS = {2: "i", 8: "m", 16: "s"}  # re.IGNORECASE, re.MULTILINE, re.DOTALL
# RE2's QuoteMeta where google-re2 keeps it (on UTF-8 bytes), if it does: see `escape`
QUOTE_META = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "QuoteMeta", None)


class RegexError(ValueError):
    """RE2 refused a pattern; the message says why."""


def re2_options(*, capture: bool = False, max_mem: int | None = None) -> Any:
    """RE2 options as the project uses them: errors raised, never logged to stderr; no
    capture groups unless asked (faster); `max_mem` bytes for the compiled program."""
    options = re2.Options()
    options.log_errors = False
    options.never_capture = not capture
    if max_mem is not None:
        options.max_mem = max_mem
    return options


@lru_cache(maxsize=CACHE_SIZE)
def compile_re2(pattern: str) -> Any:
    """The compiled RE2 object for `pattern` (inline flags like `(?i)` included); cached."""
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as error:
        raise RegexError(_describe(error, pattern)) from None


def escape(text: str) -> str:
    """`re2.escape(text)`: RE2's QuoteMeta of the text's UTF-8, called without the wrapper's
    three Python calls around it, which cost more than the quoting (a load of 5,000 rules
    quotes 77,000 literals); through the wrapper where google-re2 keeps it elsewhere. Raises
    UnicodeEncodeError on a lone surrogate, as `re2.escape` does."""
    if QUOTE_META is None:
        return cast(str, re2.escape(text))
    return cast(bytes, QUOTE_META(text.encode("utf-8"))).decode("utf-8")


def _describe(error: Exception, pattern: str) -> str:
    return f"regular expression {pattern!r} is not supported by RE2: {_detail(error)}"


def _detail(error: Exception) -> str:
    detail = error.args[0] if error.args else error
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail)


def searcher(pattern: str) -> Callable[[str], bool]:
    """A test `text -> bool`: does `pattern` occur anywhere in the text."""
    return _tester(compile_re2(pattern).search)


def full_matcher(pattern: str) -> Callable[[str], bool]:
    """A test `text -> bool`: does `pattern` match the whole text."""
    return _tester(compile_re2(pattern).fullmatch)


def _tester(method: Callable[[Any], object]) -> Callable[[str], bool]:
    def test(text: str) -> bool:
        try:
            return method(text) is not None
        except UnicodeEncodeError:  # lone surrogates from undecodable log bytes
            return method(text.encode("utf-8", "surrogateescape")) is not None

    return test


class QuietRE2Engine(RegexEngine):
    """pySigma's regex engine interface on RE2, without RE2's error log on stderr."""

    def compile(self, pattern: str, flags: int = 0) -> RegexPattern:
        prefix = "".join(letter for bit, letter in FLAG_LETTERS.items() if flags & bit)
        full = f"(?{prefix}){pattern}" if prefix else pattern
        try:
            return cast(RegexPattern, re2.compile(full, re2_options(capture=True)))
        except re2.error as error:
            raise re2.error(f"not supported by RE2: {_detail(error)}") from None

    @property
    def error(self) -> type[Exception]:
        return cast(type[Exception], re2.error)


def sigma_policy() -> SigmaPolicy:
    """The pySigma policy rules are parsed under: RE2 for every regex pySigma compiles."""
    return SigmaPolicy(regex_engine=QuietRE2Engine())
