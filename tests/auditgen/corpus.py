"""The public rule files under ../shared/auditd-rulesets/ that the parser is held to."""

from __future__ import annotations

from pathlib import Path

RULESETS = Path(__file__).resolve().parents[3] / "shared" / "auditd-rulesets"


def rule_files() -> list[Path]:
    """Every auditctl rule file there: `*.rules` and Neo23x0's `audit.rules`."""
    if not RULESETS.is_dir():
        return []
    return sorted(p for p in RULESETS.rglob("*") if p.is_file() and p.name.endswith(".rules"))
