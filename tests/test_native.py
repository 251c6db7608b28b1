"""The compiled hot modules: the list, the stale-build check, and the pure-Python switch."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

from detect.core import native


def test_every_listed_module_exists_and_is_a_module_of_detect() -> None:
    for path in native.MODULES:
        assert (native.PACKAGE_ROOT / path).is_file(), path
        assert native.module_name(path).startswith("detect.")
    assert "detect/core/native.py" not in native.MODULES  # the list itself is never compiled


def _module(root: Path, stem: str, extension_age: float | None) -> str:
    source = root / "detect" / f"{stem}.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("", encoding="utf-8")
    if extension_age is not None:
        extension = source.with_name(stem + native.importlib.machinery.EXTENSION_SUFFIXES[0])
        extension.write_bytes(b"")
        mtime = source.stat().st_mtime + extension_age
        os.utime(extension, (mtime, mtime))
    return f"detect/{stem}.py"


def test_status_tells_compiled_stale_and_pure_apart(tmp_path: Path) -> None:
    fresh = _module(tmp_path, "fresh", 10.0)
    stale = _module(tmp_path, "stale", -10.0)
    pure = _module(tmp_path, "pure", None)
    found = native.status(tmp_path, (fresh, stale, pure))
    assert found == native.NativeStatus((fresh,), (stale,), (pure,))
    assert "make build" in found.summary() and stale in found.summary()
    assert native.status(tmp_path, (fresh,)).summary().startswith("compiled with mypyc: 1 of")


def _file_of(module: str, pure: bool) -> str:
    env = {**os.environ, native.PURE_ENV: "1" if pure else "0"}
    code = (
        "import os\n"
        "from detect.core import native\n"
        "if os.environ['DETECT_PURE'] == '1': native.prefer_source()\n"
        f"import {module} as m\n"
        "print(m.__file__)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_prefer_source_imports_the_py_files_even_beside_a_build() -> None:
    assert _file_of("detect.auditd.record", pure=True).endswith("detect/auditd/record.py")
    compiled = native.status().compiled
    if "detect/auditd/record.py" in compiled:  # built: without the switch, the build runs
        assert not _file_of("detect.auditd.record", pure=False).endswith(".py")


def test_prefer_source_refuses_once_a_hot_module_is_imported() -> None:
    code = (
        "import detect.auditd.record\n"
        "from detect.core import native\n"
        "try:\n    native.prefer_source()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    env = {**os.environ, native.PURE_ENV: "0"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "detect.auditd.record was imported" in run.stdout


_BUILDS = shutil.ignore_patterns("*.so", "__pycache__")


def _checkout(tmp_path: Path, extension_age: float) -> Path:
    """A source checkout of the package without builds, but for a fake build of record.py
    (`extension_age` seconds newer than its source) that fails if it is ever imported."""
    shutil.copytree(native.PACKAGE_ROOT / "detect", tmp_path / "detect", ignore=_BUILDS)
    (tmp_path / "setup.py").write_text("", encoding="utf-8")
    source = tmp_path / "detect" / "auditd" / "record.py"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        source.with_name("record" + suffix).unlink(missing_ok=True)
    built = source.with_name("record" + importlib.machinery.EXTENSION_SUFFIXES[0])
    built.write_bytes(b"not a module")
    mtime = source.stat().st_mtime + extension_age
    os.utime(built, (mtime, mtime))
    return tmp_path


def _import_record(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, native.PURE_ENV: "0", "PYTHONPATH": str(root)}
    code = (  # what the `detect` program does first (detect.cli.main)
        "from detect.core.native import use_current_code\n"
        "use_current_code()\n"
        "import detect.auditd.record as m\n"
        "print(m.__file__)\n"
    )
    run = [sys.executable, "-S", "-c", code]  # -S: no site, so not the editable install
    return subprocess.run(run, env=env, cwd=root, capture_output=True, text=True)


def test_a_stale_build_in_a_checkout_gives_way_to_the_sources(tmp_path: Path) -> None:
    run = _import_record(_checkout(tmp_path, extension_age=-10.0))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("detect/auditd/record.py")
    assert "running the .py sources" in run.stderr and "detect/auditd/record.py" in run.stderr


def test_a_current_build_is_imported(tmp_path: Path) -> None:
    run = _import_record(_checkout(tmp_path, extension_age=10.0))  # the fake: import fails
    assert run.returncode != 0 and "running the .py sources" not in run.stderr


def test_importing_the_package_does_nothing_but_import() -> None:
    """No module of the package but `detect` itself is loaded, no build is checked."""
    code = "import sys, detect\nprint(sorted(m for m in sys.modules if m.startswith('detect')))\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['detect']" and not run.stderr
