"""Sigma levels as the specification means them (DESIGN §12): `informational` enriches (tags
events and incidents, never an alert), `low` is notable but rarely an incident alone, `medium`
is reviewed regularly, `high` and `critical` promptly."""

from __future__ import annotations

from typing import Final

LEVELS: Final = ("informational", "low", "medium", "high", "critical")
RANK: Final = {level: rank for rank, level in enumerate(LEVELS)}
INFORMATIONAL: Final = "informational"
DEFAULT_MIN_LEVEL: Final = "low"


def rank(level: str) -> int:
    """0 (informational) … 4 (critical); an unknown level ranks as medium, as alerts treat it."""
    return RANK.get(level, RANK["medium"])


def at_least(level: str, minimum: str) -> bool:
    return rank(level) >= rank(minimum)


def raised(level: str, steps: int) -> str:
    """`level` raised by `steps` (never past critical)."""
    return LEVELS[min(rank(level) + steps, len(LEVELS) - 1)]
