"""What a Dask worker does at start, before any task: choose the code the `detect` program
would run (detect.core.native.use_current_code): the `.py` sources under DETECT_PURE=1, or
where a compiled module is older than its source in a checkout; else the compiled modules.

Without it a worker imports whatever extension modules sit beside the sources when its first
task arrives, stale or not, whatever DETECT_PURE says: a pure-Python test run or an edited
checkout could get alerts from old code on the workers only. `--dask local` starts its workers
with it; workers of a cluster of several machines are started with
`dask worker ADDRESS --preload detect.pipeline.dask_worker` (docs/scale.md).
"""

from __future__ import annotations

from detect.core import native


def dask_setup(worker: object) -> None:
    """Called by Dask once per worker process, at start (its preload hook)."""
    native.use_current_code()
