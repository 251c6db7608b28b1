"""`detect events` end to end on real captures: JSON lines, the ECS summary, `--format text`,
stdin, the run summary (text on stderr, `--summary-json`) and the exit status."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from detect.cli.commands import main

CAPTURES = Path(__file__).parent / "auditd" / "captures"
DETECT = Path(sys.executable).with_name("detect")  # the console script of this venv
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SUMMARY_KEYS = {
    "files", "lines", "records", "events", "unparsed", "unparsed_examples", "lost",
    "lost_by_node", "expired", "evicted", "late_records", "records_per_second", "seconds",
}  # fmt: skip

Event = dict[str, Any]


def capture(name: str) -> str:
    return str(CAPTURES / f"{name}.log")


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["events", *args], input=stdin, catch_exceptions=False)


def events_of(result: Result) -> list[Event]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def by_serial(name: str) -> dict[int, Event]:
    return {event["serial"]: event for event in events_of(invoke(capture(name)))}


def test_one_json_object_per_event_with_every_record() -> None:
    events = events_of(invoke(capture("execve_args")))
    assert [event["serial"] for event in events] == list(range(2118, 2129))  # the note: 11
    for event in events:
        assert event["host"] is None
        assert ISO_MS.match(event["@timestamp"]), event["@timestamp"]
        assert isinstance(event["serial"], int)
        for record in event["records"]:
            assert set(record) <= {"type", "fields", "interpreted", "raw"}
            assert isinstance(record["type"], str) and isinstance(record["fields"], dict)
    raws = [record["raw"] for event in events for record in event["records"]]
    lines = (CAPTURES / "execve_args.log").read_bytes().decode("utf-8", "surrogateescape")
    assert raws == lines.splitlines()  # every line once, in file order: no interleaving here
    assert events[1]["@timestamp"] == "2026-11-22T03:12:46.861Z"  # audit(1795317166.861:2119)


def test_execve() -> None:
    event = by_serial("execve_args")[2119]  # /bin/echo hello world
    assert event["event"] == {
        "kind": "event", "module": "auditd", "action": "executed", "category": ["process"],
        "type": ["start"], "outcome": "success",
    }  # fmt: skip
    assert event["process"] == {
        "pid": 11866, "parent": {"pid": 11865}, "executable": "/usr/bin/echo", "name": "echo",
        "args": ["/bin/echo", "hello", "world"], "command_line": "/bin/echo hello world",
        "title": "/bin/echo hello world", "working_directory": "/tmp/detect-capture",
    }  # fmt: skip
    assert event["user"] == {"id": "0", "effective": {"id": "0"}, "audit": {"id": "4242"},
                             "group": {"id": "0"}}  # fmt: skip
    assert event["file"]["path"] == "/bin/echo"
    assert event["tags"] == ["cap_execve"]
    syscall = event["records"][0]
    assert syscall["interpreted"] == {"ARCH": "x86_64", "SYSCALL": "execve"}
    assert syscall["fields"]["exe"] == "/usr/bin/echo"
    assert syscall["raw"].startswith("type=SYSCALL msg=audit(1795317166.861:2119): arch=c000003e")
    execve = event["records"][2]
    assert execve["fields"] == {"argc": "3", "a0": "/bin/echo", "a1": "hello", "a2": "world"}
    assert event["detect"] == {"completion": "proctitle", "argv": ["/bin/echo", "hello", "world"]}


def test_hex_arguments_and_paths_are_decoded() -> None:
    events = by_serial("execve_args")
    assert events[2123]["process"]["args"] == [
        "/bin/true", "two words", "it's", 'say "hi"', "\\xff\\xfe", "line1\nline2", "tab\there",
        "naïve", "", "end",
    ]  # fmt: skip
    spaced = events[2128]
    assert spaced["process"]["executable"] == "/tmp/detect-capture/dir with space/my true"
    assert spaced["process"]["name"] == "my true"
    assert spaced["file"]["path"] == "./my true"


def test_connect_to_refused_port_and_loopback_addresses() -> None:
    events = by_serial("connect")
    refused = events[2164]
    assert refused["event"]["action"] == "connected-to"
    assert refused["event"]["category"] == ["network"]
    assert refused["event"]["type"] == ["connection", "start"]
    assert refused["event"]["outcome"] == "failure"
    assert refused["destination"] == {"address": "127.0.0.1", "ip": "127.0.0.1", "port": 9,
                                      "family": "inet"}  # fmt: skip
    assert refused["records"][0]["interpreted"]["EXIT"] == "ECONNREFUSED"
    assert refused["records"][1]["interpreted"]["sockaddr"] == {
        "family": "inet", "port": 9, "addr": "127.0.0.1",
    }  # fmt: skip
    ipv6 = events[2163]  # saddr=0A008F6F…01: port 0x8F6F
    assert ipv6["destination"] == {"address": "::1", "ip": "::1", "port": 36719,
                                   "family": "inet6"}  # fmt: skip
    assert ipv6["event"]["outcome"] == "success"


def test_unix_sockets() -> None:
    events = by_serial("connect")
    path = events[2167]
    assert path["event"]["action"] == "connected-to"
    assert path["destination"] == {"address": "/tmp/detect-capture/sock", "family": "unix"}
    assert path["file"]["type"] == "socket"
    abstract = events[2169]
    assert abstract["destination"] == {"address": "@detect-capture", "family": "unix"}
    assert abstract["records"][1]["interpreted"]["sockaddr"]["abstract"] is True
    nscd = events[2158]  # glibc passes the whole sockaddr_un: the path stops at the first NUL
    assert nscd["destination"]["address"] == "/var/run/nscd/socket"
    assert nscd["records"][0]["interpreted"]["EXIT"] == "ENOENT"


def test_rename_and_unlink() -> None:
    events = by_serial("file_ops")
    rename = events[2138]  # mv created.txt renamed.txt
    assert rename["records"][0]["interpreted"]["SYSCALL"] == "renameat2"
    assert (rename["event"]["action"], rename["event"]["category"], rename["event"]["type"]) == (
        "renamed", ["file"], ["change"],
    )  # fmt: skip
    assert rename["file"]["path"] == "/tmp/detect-capture/renamed.txt"  # the CREATE name
    unlink = events[2146]  # rm …/sub/hardlink
    assert unlink["records"][0]["interpreted"]["SYSCALL"] == "unlinkat"
    assert (unlink["event"]["action"], unlink["event"]["type"]) == ("deleted", ["deletion"])
    assert unlink["file"]["path"] == "/tmp/detect-capture/sub/hardlink"  # the DELETE name
    assert unlink["file"]["mode"] == "0600"


def test_add_and_delete_user() -> None:
    events = by_serial("useradd")
    added, deleted = events[2187], events[2201]
    assert added["event"] == {
        "kind": "event", "module": "auditd", "action": "added-user-account", "category": ["iam"],
        "type": ["user", "creation"], "outcome": "success",
    }  # fmt: skip
    assert added["process"] == {"pid": 12018, "executable": "/usr/sbin/useradd"}
    assert added["records"][0]["fields"]["id"] == "1001"
    assert added["detect"] == {"completion": "standalone"}
    assert (deleted["event"]["action"], deleted["event"]["type"]) == (
        "deleted-user-account", ["user", "deletion"],
    )  # fmt: skip
    assert deleted["process"]["executable"] == "/usr/sbin/userdel"
    assert deleted["user"]["audit"]["id"] == "4242"


def test_clock_change() -> None:
    events = by_serial("clock_change")
    for serial, syscall in (
        (2231, "clock_settime"),
        (2232, "settimeofday"),
        (2235, "clock_settime"),
    ):
        event = events[serial]
        assert event["records"][0]["interpreted"]["SYSCALL"] == syscall
        assert (event["event"]["action"], event["event"]["category"]) == (
            "changed-system-time", ["host"],
        )  # fmt: skip
        assert event["records"][1]["type"] == "TIME_INJOFFSET"
        assert event["tags"] == ["cap_time"]
    assert events[2235]["process"]["title"] == "date -s @1795317173.142753018"


def test_module_load_attempts() -> None:
    events = by_serial("module_load")
    finit, init, delete = events[2222], events[2223], events[2224]
    for event, syscall in ((finit, "finit_module"), (init, "init_module")):
        assert event["records"][0]["interpreted"]["SYSCALL"] == syscall
        assert event["event"]["action"] == "loaded-kernel-module"
        assert event["event"]["category"] == ["driver"]
        assert event["event"]["outcome"] == "failure"
        assert event["records"][0]["interpreted"]["EXIT"] == "ENOSYS"
    assert delete["event"]["action"] == "unloaded-kernel-module"
    assert finit["tags"] == ["cap_module"]


def test_node_prefix_is_the_host() -> None:
    events = events_of(invoke(capture("node_prefix")))
    assert {event["host"] for event in events} == {"testhost"}
    assert len(events) == 7


def test_enriched_names_are_kept() -> None:
    event = by_serial("enriched")[2247]
    names = event["records"][0]["interpreted"]
    assert (names["SYSCALL"], names["AUID"], names["UID"]) == ("execve", "unknown(4242)", "root")
    assert event["user"]["name"] == "root"
    assert event["process"]["args"] == ["/bin/echo", "enriched", "two words", "\\xff"]


def text_blocks(name: str) -> dict[int, list[str]]:
    result = invoke("--format", "text", capture(name))
    assert result.exit_code == 0
    blocks = [block.split("\n") for block in result.stdout.split("\n\n") if block]
    return {int(block[0].split(" #", 1)[1].split(" ", 1)[0]): block for block in blocks}


def test_format_text() -> None:
    blocks = text_blocks("execve_args")
    assert len(blocks) == 11
    echo = blocks[2119]
    assert echo[0] == "2026-11-22T03:12:46.861Z - #2119 executed success [execve]"
    assert echo[1] == "  user 0 (login 4242) pid 11866 exe /usr/bin/echo"
    assert echo[2] == "  argv /bin/echo hello world"
    assert "  keys cap_execve" in echo
    assert "  EXECVE: argc=3 a0=/bin/echo a1=hello a2=world" in echo
    assert [line.split(":", 1)[0].strip() for line in echo[5:]] == [
        "SYSCALL", "BPRM_FCAPS", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE",
    ]  # fmt: skip
    refused = text_blocks("connect")[2164]
    assert (
        refused[0] == "2026-11-22T03:12:49.329Z - #2164 connected-to failure [connect ECONNREFUSED]"
    )


def test_format_text_keeps_one_record_per_line() -> None:
    """Values are what programs chose (argv, file names): a newline or a NUL in one must not
    break the record's line, nor let an argument forge lines that look like another event."""
    block = text_blocks("execve_args")[2123]  # arguments with a newline, a tab; PROCTITLE NULs
    records = [line for line in block if re.match(r"  [A-Z_]+: ", line)]
    assert len(records) == 7, block
    assert all(line.startswith("  ") for line in block[1:]), block
    assert not any(re.search(r"[\x00-\x08\x0a-\x1f]", line) for line in block), block


def test_format_text_shows_bytes_as_in_json() -> None:
    block = text_blocks("execve_args")[2123]
    argv = next(line for line in block if line.startswith("  argv "))
    assert "\\udcff" not in argv  # a surrogate escape is Python's inside, not the byte
    assert "\\xff\\xfe" in argv


@pytest.mark.parametrize("args", [(), ("-",)], ids=["no-path", "dash"])
def test_stdin(args: tuple[str, ...]) -> None:
    data = (CAPTURES / "connect.log").read_bytes()
    from_stdin = events_of(invoke(*args, stdin=data))
    from_file = events_of(invoke(capture("connect")))
    assert from_stdin == from_file
    assert len(from_stdin) == 13


def test_summary_json(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    result = invoke("--summary-json", str(target), capture("interleaved"))
    assert result.exit_code == 0
    summary = json.loads(target.read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    assert summary["files"] == 1
    assert (summary["lines"], summary["records"], summary["events"]) == (823, 823, 153)  # note
    assert (summary["unparsed"], summary["unparsed_examples"]) == (0, [])
    assert summary["expired"] == 0  # 0.1 s of audit time: everything completes at flush
    # The capture keeps only its scenario's events: the serial gaps are the filter's.
    assert summary["lost"] == sum(summary["lost_by_node"].values())
    assert isinstance(summary["seconds"], float | int) and summary["seconds"] >= 0
    assert isinstance(summary["records_per_second"], int) and summary["records_per_second"] > 0


def test_text_summary_names_unparsed_lines(tmp_path: Path) -> None:
    lines = (CAPTURES / "module_load.log").read_bytes().splitlines(keepends=True)
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(lines[:2]) + b"garbage in the log\n" + b"".join(lines[2:]))
    target = tmp_path / "summary.json"
    result = invoke("--summary-json", str(target), str(log))
    assert result.exit_code == 0
    assert len(events_of(result)) == 3
    summary_line = result.stderr.splitlines()[0]
    assert summary_line.startswith("files 1, lines 7, records 6, events 3, unparsed 1, ")
    assert f"  unparsed: {log}:3: no type= field: 'garbage in the log'" in result.stderr
    assert json.loads(target.read_text())["unparsed_examples"] == [
        f"{log}:3: no type= field: 'garbage in the log'"
    ]


def test_exit_status_2_when_no_input_could_be_read(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing-here.log")
    result = invoke(missing)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"  input error: {missing}: no such file, folder or match" in result.stderr
    partly = invoke(missing, capture("module_load"))
    assert partly.exit_code == 2  # an input error, after the rest was read and written
    assert len([json.loads(line) for line in partly.stdout.splitlines()]) == 3
    assert f"input error: {missing}" in partly.stderr


def test_console_script(tmp_path: Path) -> None:
    """The installed `detect` command: JSON on stdout, the summary on stderr, status 2."""
    done = subprocess.run(
        [str(DETECT), "events", capture("clock_change")], capture_output=True, check=False
    )
    assert done.returncode == 0
    assert [json.loads(line)["serial"] for line in done.stdout.splitlines()] == list(
        range(2231, 2236)
    )
    assert done.stderr.startswith(b"files 1, lines 13, records 13, events 5, unparsed 0, ")
    missing = subprocess.run(
        [str(DETECT), "events", str(tmp_path / "none")], capture_output=True, check=False
    )
    assert missing.returncode == 2
