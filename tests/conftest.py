"""Session-wide test set-up: which build of the hot modules runs (detect/core/native.py).

A compiled module older than its source would test old code: the run stops and says to
`make build`. DETECT_PURE=1 tests the `.py` sources even where a build exists. The rule-file
cache (detect/sigma/cache.py) of a test run lives in a folder of its own, never the user's."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from detect.core import native

if os.environ.get(native.PURE_ENV) == "1":
    native.prefer_source()
CACHE_HOME = tempfile.mkdtemp(prefix="detect-tests-cache-")
os.environ["XDG_CACHE_HOME"] = CACHE_HOME  # the tests' detect subprocesses inherit it
atexit.register(shutil.rmtree, CACHE_HOME, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(native.PURE_ENV) == "1":
        return
    found = native.status()
    if found.stale:
        raise pytest.UsageError(found.summary())


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get(native.PURE_ENV) == "1":
        return "detect: pure Python (DETECT_PURE=1)"
    return f"detect: {native.status().summary()}"
