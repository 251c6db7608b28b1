"""ATT&CK Navigator layers (layer file format 4.5) from technique → detection names.

`build_layer` is pure and returns the layer as a dict; `write_layer` writes it as JSON. Each
technique is annotated under each of its tactics (the `tactic` short name), with the number of
distinct detections as its score (or a given score, e.g. alert counts) and their names as the
comment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from detect.attack.catalog import Catalog, Technique, load_catalog

LAYER_FORMAT = "4.5"
NAVIGATOR_VERSION = "5.3.2"  # a Navigator release that reads ATT&CK 19 with layer format 4.5
DOMAIN = "enterprise-attack"
GRADIENT_COLORS = ("#dbeafe", "#1d4ed8")
COMMENT_SEPARATOR = "; "


def build_layer(
    detections: Mapping[str, Sequence[str]],
    *,
    name: str,
    description: str = "",
    catalog: Catalog | None = None,
    scores: Mapping[str, float] | None = None,
    platforms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A Navigator layer for `detections` (technique id → names of the detections covering it).

    Ids are matched case-insensitively; a revoked id is counted under its replacement; an
    unknown id raises ValueError. `scores` (technique id → score) replaces the default score,
    the number of distinct detections. `platforms` sets the layer's platform filter.
    """
    catalog = catalog or load_catalog()
    merged = _merge(catalog, detections)
    score_of = _scores(catalog, merged, scores)
    short_names = {t.id: t.short_name for t in catalog.tactics}
    techniques = [
        _entry(technique.id, short_names[tactic], names, score_of[technique.id])
        for technique, names in sorted(merged.items(), key=lambda item: item[0].id)
        for tactic in technique.tactics
    ]
    layer = _header(catalog, name, description)
    layer["techniques"] = techniques
    layer["gradient"] = _gradient(score_of.values())
    if platforms:
        layer["filters"] = {"platforms": list(platforms)}
    return layer


def _header(catalog: Catalog, name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "versions": versions(catalog),
        "domain": DOMAIN,
        "description": description,
        "sorting": 3,
        "layout": {
            "layout": "side",
            "showID": True,
            "showName": True,
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": False,
        "legendItems": [],
        "metadata": [{"name": "ATT&CK", "value": catalog.version}],
    }


def versions(catalog: Catalog) -> dict[str, str]:
    """The layer's `versions`: ATT&CK major version, Navigator and layer format."""
    return {
        "attack": catalog.version.split(".")[0],
        "navigator": NAVIGATOR_VERSION,
        "layer": LAYER_FORMAT,
    }


def _merge(catalog: Catalog, detections: Mapping[str, Sequence[str]]) -> dict[Technique, set[str]]:
    merged: dict[Technique, set[str]] = {}
    unknown = []
    for technique_id, names in detections.items():
        technique = catalog.replacement(technique_id) or catalog.technique(technique_id)
        if technique is None:
            unknown.append(technique_id)
            continue
        merged.setdefault(technique, set()).update(names)
    if unknown:
        raise ValueError(f"unknown ATT&CK techniques: {', '.join(sorted(unknown))}")
    return merged


def _scores(
    catalog: Catalog, merged: dict[Technique, set[str]], given: Mapping[str, float] | None
) -> dict[str, float]:
    scores: dict[str, float] = {t.id: len(names) for t, names in merged.items()}
    for technique_id, score in (given or {}).items():
        technique = catalog.replacement(technique_id) or catalog.technique(technique_id)
        if technique is not None and technique.id in scores:
            scores[technique.id] = score
    return scores


def _entry(technique_id: str, tactic: str, names: set[str], score: float) -> dict[str, Any]:
    return {
        "techniqueID": technique_id,
        "tactic": tactic,
        "score": score,
        "comment": COMMENT_SEPARATOR.join(sorted(names)),
        "enabled": True,
    }


def _gradient(scores: Iterable[float]) -> dict[str, Any]:
    top = max(scores, default=1)
    return {"colors": list(GRADIENT_COLORS), "minValue": 0, "maxValue": max(top, 1)}


def write_layer(layer: Mapping[str, Any], path: Path) -> None:
    """Write a layer as UTF-8 JSON (two-space indent, trailing newline)."""
    path.write_text(json.dumps(layer, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
