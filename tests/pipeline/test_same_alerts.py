"""Every capture and sample gives the alerts recorded in alerts.digest (scripts/alert_digest.py):
the digest was taken before the stage packages, so a refactor that changes one alert, one field
or the order of alerts fails here, naming the first file that differs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from alert_digest import SIGMA, digest_lines  # noqa: E402

DIGEST = Path(__file__).with_name("alerts.digest")


@pytest.mark.skipif(not SIGMA.is_dir(), reason="SigmaHQ's rules are not in ../shared/sigma")
def test_every_capture_and_sample_gives_the_recorded_alerts() -> None:
    expected = DIGEST.read_text(encoding="utf-8").splitlines()
    found = list(digest_lines())
    for line, (want, got) in enumerate(zip(expected, found, strict=False), start=1):
        assert got == want, f"alerts.digest line {line}: {got!r} instead of {want!r}"
    assert len(found) == len(expected), f"{len(found)} alerts, the digest has {len(expected)}"
