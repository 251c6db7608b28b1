"""`--unix`: a real AF_UNIX server (as auditd's af_unix plugin) that resets the connection, then
closes it, then goes away for a while: the source says so, connects again with backoff and reads
on, losing only the unfinished line of a broken connection. And `detect stream --unix` keeps
running across a reset (it used to exit 2)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from contextlib import suppress
from pathlib import Path

from detect.sources.unix import UnixSource
from tests.stream.helpers import DETECT, wait_for, wait_line

EVENT = (
    b"type=SYSCALL msg=audit(1795321302.314:{n}): arch=c000003e syscall=59 success=yes exit=0 "
    b'ppid=1 pid=2 auid=1000 uid=0 euid=0 comm="id" exe="/usr/bin/id" key=(null)\n'
    b"type=EOE msg=audit(1795321302.314:{n}): \n"
)


def serve(path: Path, script: list[bytes]) -> threading.Thread:
    """Accept one connection per item; send its bytes; close it (the client reads EOF)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def run() -> None:
        for data in script:
            conn, _ = server.accept()
            conn.sendall(data)
            conn.close()
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def listen(path: Path) -> socket.socket:
    with suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    return server


def reset_and_serve(path: Path, first: socket.socket, data: bytes, after: threading.Event) -> None:
    """Once `after` is set: close the listener `first` with the client's connection still
    unaccepted (the kernel resets it: ECONNRESET on the client's next read), then listen again
    at `path` and serve `data`."""

    def run() -> None:
        after.wait(30)
        first.close()
        second = listen(path)
        conn, _ = second.accept()
        conn.sendall(data)
        conn.recv(1)  # until the client goes
        conn.close()
        second.close()

    threading.Thread(target=run, daemon=True).start()


def read_until(source: UnixSource, count: int) -> list[str]:
    lines: list[str] = []
    for _ in range(400):
        batch = source.read()
        if batch is not None:
            lines += batch.lines
        if len(lines) >= count:
            break
    return lines


def test_the_source_reconnects_after_an_eof(tmp_path: Path) -> None:
    path = tmp_path / "audispd_events"
    said: list[str] = []
    serve(path, [b"one\ntwo\nunfini", b"three\n", b"four\n"])
    source = UnixSource(str(path), retry_s=0.01, say=said.append)
    source.open()
    assert read_until(source, 4) == ["one\n", "two\n", "three\n", "four\n"]  # "unfini" dropped
    assert source.reconnects == 2
    assert said.count(f"unix:{path}: connection lost (closed by auditd); connecting again") == 2
    assert said.count(f"unix:{path}: connected again") == 2
    source.close()


def test_the_source_keeps_at_most_max_line_bytes_of_a_line(tmp_path: Path) -> None:
    path = tmp_path / "audispd_events"
    serve(path, [b"x" * 3_000_000 + b"\nshort\n"])  # more than one read (READ_SIZE)
    source = UnixSource(str(path), retry_s=0.01, max_line=1000)
    source.open()
    lines = read_until(source, 2)
    assert [len(line) for line in lines] == [1002, 6]  # max_line + 1 bytes of it, and its newline
    source.close()


def test_the_source_reconnects_after_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    said: list[str] = []
    connected = threading.Event()
    reset_and_serve(path, listen(path), b"after the reset\n", connected)
    source = UnixSource(str(path), retry_s=0.01, say=said.append)
    source.open()
    connected.set()
    assert read_until(source, 1) == ["after the reset\n"]
    assert said == [
        f"unix:{path}: connection lost (Connection reset by peer); connecting again",
        f"unix:{path}: connected again",
    ]
    source.close()


def test_detect_stream_keeps_running_across_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    events = EVENT.replace(b"{n}", b"101") + EVENT.replace(b"{n}", b"102")
    started = threading.Event()
    reset_and_serve(path, listen(path), events, started)
    err = tmp_path / "stream.err"
    command = [
        str(DETECT), "stream", "--unix", str(path), "--no-triage", "--stats-interval", "0",
        "--output", str(tmp_path / "alerts.jsonl"), "--idle-ms", "100",
    ]  # fmt: skip
    with err.open("wb") as stderr:
        child = subprocess.Popen(command, stderr=stderr, env={**os.environ, "DETECT_PURE": "1"})
    try:
        wait_line(err, "stream: reading", timeout_s=60)
        started.set()
        wait_line(err, "connected again", timeout_s=30)
        wait_for(lambda: "2 events" in stream_end(child, err), what="2 events")
    finally:
        if child.poll() is None:
            child.kill()
    text = err.read_text()
    assert child.returncode == 0, text
    assert "connection lost (Connection reset by peer); connecting again" in text


def stream_end(child: subprocess.Popen[bytes], err: Path) -> str:
    """Stop the stream (it then completes the events it holds); its last line."""
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    return err.read_text().splitlines()[-1]


def test_rotate_bytes_needs_an_output() -> None:
    done = subprocess.run(
        [str(DETECT), "stream", "--stdin", "--rotate-bytes", "1000"],
        input=b"",
        capture_output=True,
        env={**os.environ, "DETECT_PURE": "1"},
        check=False,
    )
    assert done.returncode == 2
    assert b"--rotate-bytes rotates the --output file: give --output too" in done.stderr
