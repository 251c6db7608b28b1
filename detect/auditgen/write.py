"""Write the model back as canonical auditctl text.

Canonical means: options separated by one space, no leading blanks, `ACTION,LIST` order
(`-a always,exit`), each part in the order it was written, a token quoted with single quotes
only when it holds a blank, a quote, a backslash or is empty. Comments are written verbatim and
blank lines as empty lines.

Round trip, as tested: `parse_rule(write_item(x)) == x` for every item, and for a file
`write_rules(parse_rules(text))` gives back each line unchanged where that line was already
canonical, and a line with the same meaning (`AuditRuleMeaning`) where it was not.
"""

from __future__ import annotations

import re
import shlex

from detect.auditgen.model import AuditRuleFile, Blank, Comment, Item

NEEDS_QUOTES_RE = re.compile(r"[\s'\"\\]")


def quote(token: str) -> str:
    """A token as auditctl text: quoted only when splitting would change it."""
    if token and NEEDS_QUOTES_RE.search(token) is None:
        return token
    return shlex.quote(token)


def write_item(item: Item) -> str:
    """One line of canonical text, without a newline."""
    if isinstance(item, Comment):
        return item.text
    if isinstance(item, Blank):
        return ""
    return " ".join(quote(token) for token in item.tokens())


def write_items(items: list[Item]) -> str:
    """Lines of canonical text, each ending in a newline."""
    return "".join(write_item(item) + "\n" for item in items)


def write_rules(rules: AuditRuleFile) -> str:
    """A parsed file as canonical text."""
    return write_items(rules.items)
