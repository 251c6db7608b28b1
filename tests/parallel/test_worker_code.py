"""Dask workers run the code the `detect` program would: under DETECT_PURE=1 the `.py`
sources, though compiled modules sit beside them (a stale build once ran on the workers only:
the worker imported the extension modules before anything could prefer the sources)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from detect.core import native

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
def where() -> str:
    import detect.auditd.reassemble as module
    return module.__file__

if __name__ == "__main__":  # nothing above imports detect: workers import this file too
    from detect.core import native
    native.use_current_code()  # as the detect program does first
    from distributed import Client
    import detect.auditd.reassemble as here
    from detect.pipeline.parallel import local_cluster
    cluster = local_cluster(1)  # as `--dask local` starts it
    with Client(cluster) as client:
        print(here.__file__)
        print(client.submit(where).result())
    cluster.close()
"""


@pytest.mark.skipif(not native.status().compiled, reason="no compiled build to shadow the sources")
@pytest.mark.parametrize("pure", ["1", ""])
def test_a_worker_runs_what_detect_runs(tmp_path: Path, pure: str) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    env = {**os.environ, native.PURE_ENV: pure}
    found = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    here, worker = found.stdout.split()
    if pure == "1":
        assert here.endswith(".py"), here
    assert Path(worker).suffix == Path(here).suffix, (here, worker)  # stale build: sources
