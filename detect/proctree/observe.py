"""What one audit event tells the process tree.

Only events with a SYSCALL record describe a process (its `pid`, `ppid`, `exe`, `uid`); others
(user-space messages) are left without one. From each such event:

- the process holding `pid` is found, or made: a new process when the PID is free, when its
  holder has exited, or when a process known only from a fork turns out to have another parent
  (clone3 cannot tell a thread from a process: the thread's id is not a process). Its parent is
  the holder of `ppid`, or a placeholder for it (a parent seen only as a ppid, e.g. started
  before the log began); a placeholder's own first event fills it in;
- execve/execveat (successful) add an image with the EXECVE argv to the exec chain; any other
  event whose `exe` differs from the process's image adds that image (`seen`, command line from
  PROCTITLE, cut at 128 bytes by the kernel);
- fork/vfork/clone/clone3 (successful) make the child (its PID is the call's exit value); a
  clone with CLONE_THREAD makes a thread, not a process;
- exit_group ends the process. `exit` ends one thread only (the record does not say whether it
  was the last), so it ends nothing.
- audit keys named by label rules label the process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from detect.auditd import interpret, normalize
from detect.auditd.interpret import id_name
from detect.auditd.numbers import U32_MAX, parse_uint
from detect.proctree.process import Process

if TYPE_CHECKING:
    from detect.auditd.event import AuditEvent
    from detect.auditd.record import Record
    from detect.proctree.tree import ProcessTree

EXECS: Final = frozenset(("execve", "execveat"))
FORKS: Final = frozenset(("fork", "vfork", "clone", "clone3"))
EXITS: Final = frozenset(("exit_group",))
CLONE_THREAD: Final = 0x10000


def observe_event(tree: ProcessTree, event: AuditEvent) -> Process | None:
    """The fast path (an event of a known, living process, same image, same user) is a few
    dict lookups: the holder of a confirmed living process is the process itself whatever
    the event's ppid says (see `_same`), so the ppid is not even read."""
    syscall = event.first("SYSCALL")
    if syscall is None:
        event.process = None
        return None
    fields = syscall.fields
    pid = _number(fields.get("pid"))
    if pid is None:
        event.process = None
        return None
    time_ms = event.time_ms
    tree.advance(time_ms)
    host = event.node or ""
    pids = tree.current.get(host)
    process = pids.get(pid) if pids is not None else None
    if process is None or not process.confirmed or process.exit_ms is not None:
        ppid = _number(fields.get("ppid"))
        process = holder(tree, host, pid, ppid, time_ms, event.serial)
        process.confirmed = True
    if time_ms > process.last_ms:
        process.last_ms = time_ms
    name = interpret.syscall_name(syscall)
    success = fields.get("success") != "no"
    exe = fields.get("exe")
    if success and name in EXECS:
        _exec(tree, process, event, exe, time_ms)
    elif exe and (process.image is None or exe != process.image.path):
        _image(tree, process, event, exe, time_ms)
    uid = fields.get("uid")
    if uid is not None and uid != process.uid:
        _user(tree, process, syscall, uid)
    if success and name in FORKS:
        _fork(tree, process, fields, name, event, time_ms)
    elif name in EXITS:
        tree.end(process, time_ms)
    if tree.key_labels and fields.get("key"):
        _key_labels(tree, process, event)
    event.process = process
    return process


def holder(
    tree: ProcessTree, host: str, pid: int, ppid: int | None, time_ms: int, serial: int
) -> Process:
    """The process an event of `pid` (child of `ppid`) at `time_ms` belongs to."""
    current = tree.lookup(host, pid)
    if current is not None and _same(current, ppid, time_ms):
        if not current.confirmed and current.parent is None and ppid:
            tree.adopt(current, tree.placeholder(host, ppid, time_ms, serial))
        return current
    parent = tree.placeholder(host, ppid, time_ms, serial) if ppid else None
    return tree.create(host, pid, time_ms, serial, parent)


def _same(current: Process, ppid: int | None, time_ms: int) -> bool:
    if current.exit_ms is not None:
        return time_ms <= current.exit_ms  # a late event of the exited process, or a new one
    if current.confirmed or ppid is None or current.ppid is None:
        return True  # a known process keeps its parent when re-parented
    return current.ppid == ppid


def _exec(
    tree: ProcessTree, process: Process, event: AuditEvent, exe: str | None, time_ms: int
) -> None:
    argv = interpret.execve_argv(event)
    path = exe or (argv[0] if argv else "")
    tree.exec(process, path, argv, time_ms)


def _image(tree: ProcessTree, process: Process, event: AuditEvent, exe: str, time_ms: int) -> None:
    title = interpret.proctitle_argv(event)
    tree.seen(process, exe, time_ms, " ".join(title) if title else None)


def _user(tree: ProcessTree, process: Process, syscall: Record, uid: str) -> None:
    named = interpret.record_interpreted(syscall).get("UID")
    tree.set_user(process, uid, named or id_name(uid))


def _fork(
    tree: ProcessTree,
    process: Process,
    fields: dict[str, str],
    name: str,
    event: AuditEvent,
    time_ms: int,
) -> None:
    child = _number(fields.get("exit"))
    if not child or child == process.pid:
        return
    if name == "clone" and _flags(fields.get("a0")) & CLONE_THREAD:
        return
    tree.fork(process, child, time_ms, event.serial)


def _key_labels(tree: ProcessTree, process: Process, event: AuditEvent) -> None:
    by_key = tree.settings.key_labels
    for key in normalize.event_keys(event):
        for label in by_key.get(key, ()):
            tree.label(process, label)


def _number(text: str | None) -> int | None:
    return None if text is None else parse_uint(text, U32_MAX)


def _flags(text: str | None) -> int:
    try:
        return int(text, 16) if text else 0
    except ValueError:
        return 0
