"""Where the project's data lives: `mappings/` beside the package (the one place that knows)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mapping_path(*parts: str) -> Path:
    return ROOT.joinpath("mappings", *parts)
