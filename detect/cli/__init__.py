"""The command line: wiring only. `main` is the `detect` program's entry point."""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import os
import sys
import threading
from typing import NoReturn


def main() -> None:
    """Make sure no stale compiled module runs (detect.core.native), then run the commands.
    The check comes first: importing the commands imports the hot modules. At the end the
    process leaves without tearing its heap down (`leave`)."""
    from detect.core.native import use_current_code

    use_current_code()
    from detect.cli.commands import main as commands

    try:
        commands()  # click ends every command with SystemExit
    except SystemExit as done:
        leave(done.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """Exit with `code` (as `sys.exit` reads it) once every output is written, without the
    interpreter's teardown: after a scan with thousands of rules, freeing the heap object by
    object and the last garbage collections took seconds and wrote nothing. What teardown
    would still do for the outputs is done first, in its order: threads that are not daemons
    are waited for (a delivery still sending), every open file object is flushed (the
    commands close theirs; this is the safety net), the `atexit` handlers run (logging,
    multiprocessing, Dask), and stdout and stderr are flushed."""
    status = _status(code)
    _join_threads()
    _flush_open_files()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what the interpreter would report
            status = status or 120
    os._exit(status)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    _warn(str(code))
    return 1


def _join_threads() -> None:
    """What the interpreter does first when it ends: wait for every thread that is not a
    daemon, and run what `threading` registered for then (concurrent.futures' shutdown)."""
    shutdown = getattr(threading, "_shutdown", None)
    if callable(shutdown):
        shutdown()
        return
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()


def _flush_open_files() -> None:
    """Flush what teardown would have flushed when freeing each file object; a failure is
    reported as teardown reports it (and the exit status stays)."""
    for item in gc.get_objects():
        if not isinstance(item, io.IOBase) or item is sys.stdout or item is sys.stderr:
            continue
        try:
            if not item.closed:
                item.flush()
        except Exception as error:  # reported, as the interpreter would
            _warn(f"detect: could not flush {item!r} at exit: {error}")


def _warn(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text + "\n")
