"""A multi-host archive made of real captures (their .md files say how each was made): the
lines of each capture get a `node=` prefix, two hosts share one interleaved file, a third has a
rotation set in its own folder, and one capture keeps no prefix (host `""`)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
CAPTURES = {
    "alpha": TESTS / "detections" / "captures" / "procedures.log",
    "beta": TESTS / "correlation" / "captures" / "shadow_read_failures.log",
    "gamma": TESTS / "detections" / "captures" / "local_account_created.log",
}
UNNAMED = TESTS / "detections" / "captures" / "login_attempts.log"


def prefixed(host: str) -> list[str]:
    lines = CAPTURES[host].read_text(encoding="utf-8").splitlines(keepends=True)
    return [f"node={host} {line}" for line in lines]


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    alpha, beta = prefixed("alpha"), prefixed("beta")
    mixed = [
        line for pair in itertools.zip_longest(alpha, beta) for line in pair if line is not None
    ]
    (root / "mixed.log").write_text("".join(mixed), encoding="utf-8")
    gamma = prefixed("gamma")
    folder = root / "gamma"
    folder.mkdir()
    half = len(gamma) // 2
    (folder / "audit.log.1").write_text("".join(gamma[:half]), encoding="utf-8")
    (folder / "audit.log").write_text("".join(gamma[half:]), encoding="utf-8")
    (root / "local.log").write_bytes(UNNAMED.read_bytes())
    return root
