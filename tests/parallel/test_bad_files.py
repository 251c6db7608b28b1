"""Files that cannot be read whole are reported as `--jobs 1` reports them, whatever the
bundling: a truncated archive after the lines before its cut (a bundle reads them), a corrupt
one whose first read fails (no bundle reads it: its probe's error stands for the reader's)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from detect.cli.commands import main

from .conftest import prefixed


@pytest.fixture(scope="module")
def damaged(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damaged")
    for path in archive.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(archive)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    packed = gzip.compress("".join(prefixed("alpha")).encode())
    (root / "cut.log.gz").write_bytes(packed[: len(packed) // 2])  # alpha's, cut half way
    (root / "garbled.log.gz").write_bytes(b"\x1f\x8b" + bytes(range(200)))  # not gzip inside
    return root


def scan(root: Path, tmp_path: Path, jobs: str) -> dict[str, object]:
    summary = tmp_path / f"summary-{jobs}.json"
    args = ["scan", str(root), "--no-progress", "--jobs", jobs, "--summary-json", str(summary)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    document = json.loads(summary.read_text())
    for key in ("seconds", "records_per_second"):
        document.pop(key)
    return {"exit": result.exit_code, "alerts": result.stdout, "summary": document}


def test_damaged_files_are_reported_alike(damaged: Path, tmp_path: Path) -> None:
    one = scan(damaged, tmp_path, "1")
    assert one["exit"] == 2
    errors = one["summary"]["file_errors"]  # type: ignore[index]
    assert [error.split(":")[0] for error in errors] == [
        str(damaged / "cut.log.gz"),
        str(damaged / "garbled.log.gz"),
    ], errors
    for jobs in ("2", "3"):
        assert scan(damaged, tmp_path, jobs) == one
