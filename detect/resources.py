"""Where the project's data lives: `mappings/` and `detections/` beside the package."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mapping_path(*parts: str) -> Path:
    return ROOT.joinpath("mappings", *parts)


def detections_path() -> Path:
    return ROOT / "detections"
