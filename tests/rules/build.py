"""Build compiled rules from small detection dicts, for the tests of the Sigma side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sigma.rule import SigmaRule

from detect.sigma.compile import compile_rule
from detect.sigma.model import Rule
from detect.sigma.regex import sigma_policy


def rule_from(
    detection: Mapping[str, Any], placeholders: Mapping[str, Sequence[str]] | None = None
) -> Rule:
    data = {"title": "test rule", "logsource": {"product": "linux"}, "detection": dict(detection)}
    return compile_rule(SigmaRule.from_dict(data, policy=sigma_policy()), placeholders)


def selection(**items: Any) -> dict[str, Any]:
    """A detection with one selection; `items` keys use `__` for `|` (f__contains)."""
    return {
        "sel": {key.replace("__", "|"): value for key, value in items.items()},
        "condition": "sel",
    }
