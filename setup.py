"""Build hook: the hot modules that `detect/core/native.py` lists are compiled to C extensions with
mypyc (from their type hints; their .py files stay the source). DETECT_PURE=1 builds none."""

import os
import runpy
from pathlib import Path

from setuptools import setup

NATIVE = runpy.run_path(str(Path(__file__).resolve().parent / "detect" / "core" / "native.py"))
GROUP = "detect.hotpath"  # one shared library for the compiled modules: detect/hotpath__mypyc


def extensions() -> list[object]:
    if os.environ.get(NATIVE["PURE_ENV"]) == "1":
        return []
    from mypyc.build import mypycify

    return list(
        mypycify(list(NATIVE["MODULES"]), opt_level="3", group_name=GROUP, target_dir="build/mypyc")
    )


setup(ext_modules=extensions())
