"""The ATT&CK matrix of the techniques seen in a report's alerts: the offline catalog's tactics
as columns in matrix order, each technique (or sub-technique) under every tactic it belongs to,
its count (the hits its alerts stand for: a folded alert counts its repeats) as a heat step."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from detect.attack.catalog import Catalog, load_catalog

Document = dict[str, Any]
HEAT_STEPS = 5


def technique_counts(alerts: Iterable[Document]) -> Counter[str]:
    """Hits per technique id: an alert counts 1, a folded alert its repeats (count - 1)."""
    counts: Counter[str] = Counter()
    for document in alerts:
        detected = document.get("detect", {})
        weight = detected["count"] - 1 if "count" in detected else 1
        technique = (document.get("threat") or {}).get("technique", {})
        ids = [*technique.get("id", []), *technique.get("subtechnique", {}).get("id", [])]
        for technique_id in ids:
            counts[technique_id] += weight
    return +counts


def heat(count: int, top: int) -> int:
    """1 (few) … HEAT_STEPS (the most seen), on a log scale: one noisy rule does not wash out
    the rest."""
    if top <= 1 or count <= 1:
        return 1
    return 1 + round((HEAT_STEPS - 1) * math.log(count) / math.log(top))


def build_matrix(alerts: Iterable[Document], catalog: Catalog | None = None) -> Document:
    catalog = catalog or load_catalog()
    counts = technique_counts(alerts)
    top = max(counts.values(), default=0)
    columns: dict[str, list[Document]] = {t.id: [] for t in catalog.tactics_in_order()}
    unknown = []
    for technique_id, count in sorted(counts.items()):
        technique = catalog.technique(technique_id)
        cell = {
            "id": technique_id,
            "name": technique.name if technique else "not in the catalog",
            "url": technique.url if technique else "",
            "count": count,
            "heat": heat(count, top),
        }
        placed = [t for t in (technique.tactics if technique else ()) if t in columns]
        for tactic_id in placed:
            columns[tactic_id].append(cell)
        if not placed:
            unknown.append(cell)
    return {
        "version": catalog.version,
        "notice": catalog.notices[0] if catalog.notices else "",
        "columns": [
            {
                "id": tactic.id,
                "name": tactic.name,
                "cells": sorted(columns[tactic.id], key=lambda c: (-c["count"], c["id"])),
            }
            for tactic in catalog.tactics_in_order()
        ],
        "unknown": unknown,
        "techniques": len(counts),
        "top": top,
    }
