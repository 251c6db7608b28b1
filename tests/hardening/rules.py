"""Hostile Sigma rules (issue 18 item 4), written into a folder for a test."""

from __future__ import annotations

from pathlib import Path

HEAD = """title: {title}
id: {id}
logsource:
  product: linux
  service: auditd
detection:
"""


def rule(title: str, number: int, detection: str) -> str:
    return HEAD.format(title=title, id=f"{number:08d}-1111-4111-8111-111111111111") + detection


def deep_not(depth: int = 1000) -> str:
    return rule("deep not", 1, f"  sel:\n    type: EXECVE\n  condition: {'not ' * depth}sel\n")


def deep_parentheses(depth: int = 300) -> str:
    condition = "sel and not (" * depth + "sel" + ")" * depth
    return rule("deep parentheses", 2, f"  sel:\n    type: EXECVE\n  condition: {condition}\n")


def long_list(items: int = 100_000, needle: str = "needle-99999") -> str:
    """`a1|contains` with `items` strings; the last is `needle`."""
    values = "".join(f"      - 'item-{i}-x'\n" for i in range(items - 1))
    body = f"  sel:\n    a1|contains:\n{values}      - '{needle}'\n  condition: sel\n"
    return rule("long list", 3, body)


def regex_set(items: int = 20_000) -> str:
    values = "".join(f"      - 'x{i}[a-z]+y{i}'\n" for i in range(items))
    return rule("regex set", 4, f"  sel:\n    a1|re:\n{values}  condition: sel\n")


def echo_hello() -> str:
    """A plain rule the execve_args capture fires: `/bin/echo hello world`."""
    body = "  sel:\n    type: EXECVE\n    a1: hello\n  condition: sel\n"
    return rule("echo hello", 5, body)


def write_rules(folder: Path, **documents: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (folder / f"{name}.yml").write_text(text)
    return folder
