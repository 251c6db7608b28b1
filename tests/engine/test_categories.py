"""Category views (DESIGN §3) on real captures: which categories, targets, peers."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.proctree.tree import ProcessTree
from detect.views.category import (
    PROBED,
    CategoryError,
    CategoryProbe,
    category_views,
    event_categories,
    load_categories,
)
from tests.capture_events import (
    ALL_CAPTURES,
    by_serial,
    capture_events,
    capture_events_at,
    events_of,
)

CAPTURES = ALL_CAPTURES


def views(serial: int, capture: str) -> dict[str, dict[str, object]]:
    return category_views(by_serial(capture_events(capture), serial))


def test_execve_is_process_creation_with_command_line_and_directory() -> None:
    found = views(2119, "execve_args")
    assert list(found) == ["process_creation"]
    view = found["process_creation"]
    assert view["process.executable"] == "/usr/bin/echo"
    assert view["process.command_line"] == "/bin/echo hello world"
    assert view["process.args"] == ["/bin/echo", "hello", "world"]
    assert view["process.working_directory"] == "/tmp/detect-capture"
    assert (view["user.name"], view["user.audit.id"]) == ("root", "4242")


def test_open_for_writing_is_a_file_event_and_reading_a_file_access() -> None:
    created = views(2135, "file_ops")  # openat O_WRONLY|O_CREAT|O_TRUNC
    assert list(created) == ["file_event"]
    assert created["file_event"]["file.path"] == ["/tmp/detect-capture/created.txt"]
    read = views(2137, "file_ops")  # cat: openat O_RDONLY
    assert list(read) == ["file_access"]
    assert read["file_access"]["file.path"] == ["/tmp/detect-capture/created.txt"]


def test_rename_is_a_file_event_for_the_new_name_and_a_delete_for_the_old() -> None:
    found = views(2138, "file_ops")
    assert found["file_event"]["file.path"] == ["/tmp/detect-capture/renamed.txt"]
    assert found["file_delete"]["file.path"] == ["/tmp/detect-capture/created.txt"]


def test_chmod_is_a_file_change() -> None:
    found = views(2139, "file_ops")
    assert list(found) == ["file_change"]
    assert found["file_change"]["auditd.syscall"] == "fchmodat"


def test_inet_connect_is_a_network_connection_with_destination() -> None:
    view = views(2161, "connect")["network_connection"]
    assert (view["destination.ip"], view["network.initiated"]) == ("127.0.0.1", "true")
    assert view["network.family"] == "inet"
    assert isinstance(view["destination.port"], int)
    assert views(2163, "connect")["network_connection"]["destination.ip"] == "::1"


def test_unix_socket_connect_is_not_a_network_connection() -> None:
    assert views(2158, "connect") == {}  # connect to /var/run/nscd/socket


def test_failed_call_keeps_its_errno() -> None:
    event = by_serial(capture_events("connect"), 2164)  # ECONNREFUSED
    view = category_views(event)["network_connection"]
    assert (view["auditd.success"], view["auditd.errno"]) == ("no", "ECONNREFUSED")


def test_a_bad_table_fails_loudly(tmp_path: Path) -> None:
    bad = tmp_path / "categories.yaml"
    bad.write_text(
        "categories: {x: {syscalls: [open], targets: [NOPE]}}\nopens: {}\ninitiated: []\n"
    )
    with pytest.raises(CategoryError, match="unknown nametype"):
        load_categories(bad)
    bad.write_text("categories: {}\n")
    with pytest.raises(CategoryError, match="expected the keys"):
        load_categories(bad)


def test_open_flags_are_named() -> None:
    view = views(2135, "file_ops")["file_event"]  # openat flags 0x241
    assert view["file.open_flags"] == ["O_WRONLY", "O_CREAT", "O_TRUNC"]
    appended = views(2136, "file_ops")["file_event"]  # 0x441
    assert appended["file.open_flags"] == ["O_WRONLY", "O_CREAT", "O_APPEND"]
    assert views(2137, "file_ops")["file_access"]["file.open_flags"] == ["O_RDONLY"]


def test_names_relative_to_a_directory_descriptor_stay_relative() -> None:
    # rm -rf: unlinkat(4, "sudoers"): the kernel logs the working directory as PARENT
    event = by_serial(
        capture_events_at("tests/detections/captures/account_database_modified"), 4557
    )
    assert category_views(event)["file_delete"]["file.path"] == ["sudoers"]


@pytest.mark.parametrize("capture", CAPTURES)
def test_a_probe_reads_what_the_view_holds_without_building_it(capture: str) -> None:
    """The engine decides from a probe which rules can match a category view: each field it
    computes must equal the view's, present or absent, or a rule would be skipped wrongly."""
    tree, probed = ProcessTree(), 0
    for event in capture_events_at(capture):
        tree.observe(event)
        probes = [
            CategoryProbe(event, name, kinds) for name, kinds in event_categories(event).items()
        ]
        seen = [{key: probe.get(key) for key in PROBED} for probe in probes]
        assert event.category_views is None  # computed field by field
        for probe, values in zip(probes, seen, strict=True):
            view = category_views(event)[probe.name]
            assert values == {key: view.get(key) for key in PROBED}
            assert {key: probe.get(key) for key in (*view, "Image", "no.such")} == {
                key: view.get(key) for key in (*view, "Image", "no.such")
            }
            assert list(probe.values()) == list(view.values())
            probed += sum(value is not None for value in values.values())
    assert probed or "proctree" not in capture


UNSET_AND_RELATIVE = """\
type=SYSCALL msg=audit(1795317168.109:7): arch=c000003e syscall=257 success=yes exit=3 \
a0=ffffff9c a1=55acd6a5fb50 a2=241 a3=1b6 items=2 ppid=1 pid=9 auid=4294967295 uid=0 gid=0 \
euid=0 tty=(none) ses=4294967295 comm="" exe="" key=(null)
type=CWD msg=audit(1795317168.109:7): cwd="/tmp/w"
type=PATH msg=audit(1795317168.109:7): item=0 name="../w/" nametype=PARENT
type=PATH msg=audit(1795317168.109:7): item=1 name="x/../made.txt" nametype=CREATE
type=EOE msg=audit(1795317168.109:7):
"""


def test_a_probe_leaves_out_what_the_view_leaves_out(tmp_path: Path) -> None:
    """Unset ids, empty names and relative paths, which the captures lack."""
    log = tmp_path / "unset.log"
    log.write_text(UNSET_AND_RELATIVE)
    (event,) = events_of([log])
    probe = CategoryProbe(event, "file_event", event_categories(event)["file_event"])
    values = {key: probe.get(key) for key in PROBED}
    assert values["file.path"] == ["/tmp/w/made.txt"]
    assert values["process.executable"] is values["user.audit.id"] is None
    assert values == {key: category_views(event)["file_event"].get(key) for key in PROBED}
