"""The record view (DESIGN §3) on real captures: raw fields, interpreted names, SYSCALL context."""

from __future__ import annotations

import pytest

from detect.auditd import interpret
from detect.proctree.fields import TREE_KEYS
from detect.proctree.tree import ProcessTree
from detect.views.record import (
    CONTEXT,
    ID_KEYS,
    KERNEL_FIELDS,
    RecordView,
    SyscallContext,
    id_name,
    record_view,
    record_views,
    syscall_context,
    syscall_view,
)
from tests.capture_events import ALL_CAPTURES, by_serial, capture_events, capture_events_at

CAPTURES = ALL_CAPTURES
ASKED = (*CONTEXT, *TREE_KEYS, *ID_KEYS, "type", "CommandLine", "proctitle", "PROCTITLE", "a1")


def views_by_type(serial: int, *captures: str) -> dict[str, dict[str, object]]:
    event = by_serial(capture_events(*captures), serial)
    return {str(view["type"]): view for view in record_views(event)}


def test_execve_record_has_decoded_args_and_command_line() -> None:
    views = views_by_type(2119, "execve_args")
    execve = views["EXECVE"]
    assert (execve["a0"], execve["a1"], execve["a2"]) == ("/bin/echo", "hello", "world")
    assert execve["CommandLine"] == "/bin/echo hello world"
    assert "CommandLine" not in views["PATH"]


def test_other_records_carry_the_syscall_context_but_never_its_arguments() -> None:
    views = views_by_type(2119, "execve_args")
    path = views["PATH"]
    assert path["exe"] == "/usr/bin/echo"
    assert path["SYSCALL"] == "execve"
    assert path["auid"] == "4242" and path["UID"] == "root"
    assert path["name"] == "/lib64/ld-linux-x86-64.so.2"  # the last PATH: the interpreter
    assert "a0" not in path and "a1" not in views["CWD"]
    assert views["SYSCALL"]["a0"] != views["EXECVE"]["a0"]  # each record keeps its own


def test_raw_logs_get_the_enriched_names() -> None:
    syscall = views_by_type(2119, "execve_args")["SYSCALL"]
    assert (syscall["ARCH"], syscall["SYSCALL"]) == ("x86_64", "execve")
    assert (syscall["UID"], syscall["EUID"], syscall["AUID"]) == ("root", "root", "4242")


def test_enriched_logs_keep_their_own_names() -> None:
    syscall = views_by_type(2244, "enriched")["SYSCALL"]
    assert syscall["AUID"] == "unknown(4242)"  # as auditd wrote it, not recomputed
    assert syscall["SYSCALL"] == "execve"


def test_proctitle_reads_with_spaces() -> None:
    proctitle = views_by_type(2119, "execve_args")["PROCTITLE"]
    assert proctitle["proctitle"] == "/bin/echo hello world"


def test_failed_calls_name_their_errno() -> None:
    syscall = views_by_type(2158, "connect")["SYSCALL"]
    assert (syscall["success"], syscall["exit"], syscall["EXIT"]) == ("no", "-2", "ENOENT")


def test_id_names() -> None:
    assert [id_name(n) for n in ("0", "4294967295", "1000")] == ["root", "unset", "1000"]


@pytest.mark.parametrize("capture", CAPTURES)
def test_a_lazy_view_answers_each_key_as_the_whole_view(capture: str) -> None:
    """Each key asked of a new RecordView (nothing computed yet), its context read from the
    SYSCALL record's view key by key, equals the whole view's."""
    tree = ProcessTree()
    for event in capture_events_at(capture):
        tree.observe(event)
        syscall = syscall_view(event)
        context = syscall_context(event)
        lazy_context = SyscallContext(syscall) if syscall is not None else None
        assert lazy_context is None or dict(lazy_context) == context
        argv = interpret.execve_argv(event)
        for record in event.records:
            whole = record_view(record, context, argv, event.process)
            for key in (*whole, *ASKED):
                lazy = RecordView(record, lazy_context, argv, event.process)
                assert lazy.get(key) == whole.get(key), (record, key)


@pytest.mark.parametrize("capture", CAPTURES)
def test_kernel_records_carry_only_the_fields_listed_for_them(capture: str) -> None:
    """The engine never parses such a record for a field outside its type's list: on this
    machine's kernel, every record of those types keeps within it."""
    for event in capture_events_at(capture):
        for record in event.records:
            assert set(record.fields) <= KERNEL_FIELDS.get(record.type, set(record.fields))
