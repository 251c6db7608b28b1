"""Fixtures of the hardening tests (issue 18)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder nobody can reach too (pytest's tmp_path is 0700 root): for runs that drop
    from root to nobody."""
    folder = Path(tempfile.mkdtemp(prefix="detect-h18-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)
