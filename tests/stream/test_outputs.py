"""Live outputs against local endpoints: syslog (UDP, TCP, unix datagram), the webhook (a
local http.server, with failures and retries) and the rotating file."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from detect.core.alert import Alert, RuleInfo
from detect.outputs.rotating import RotatingFile
from detect.outputs.syslog import BOM, SyslogError, SyslogSink, SyslogTarget
from detect.outputs.webhook import WebhookSink

RULE = RuleInfo(
    "r1", "Rule one", "high", "r.yml", (), {"rule": {"id": "r1"}, "detect": {"level": "high"}}
)
ALERT = Alert(RULE, 1_764_000_000_000, None, [])
DOCUMENT: dict[str, Any] = ALERT.document()
NOW = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)


def sink_to(url: str) -> SyslogSink:
    return SyslogSink(SyslogTarget.parse(url), facility="local0", host="h1", clock=lambda: NOW)


def check_message(message: bytes) -> None:
    text = message.decode("utf-8")
    head, _, body = text.partition(BOM)
    assert head.startswith("<131>1 2026-11-22T10:00:00.123456Z h1 detect ")  # local0*8 + err
    assert head.endswith(" alert - ")
    assert json.loads(body) == DOCUMENT


def test_syslog_udp() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    sink = sink_to(f"udp://127.0.0.1:{server.getsockname()[1]}")
    sink(ALERT)
    check_message(server.recv(65536))
    assert sink.sent == 1
    server.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_syslog_udp_and_tcp_over_ipv6() -> None:
    server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.settimeout(5)  # a message that never comes fails the test instead of hanging it
    server.bind(("::1", 0))
    sink = sink_to(f"udp://[::1]:{server.getsockname()[1]}")
    sink(ALERT)
    check_message(server.recv(65536))
    server.close()
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.settimeout(5)
    listener.bind(("::1", 0))
    listener.listen(1)
    tcp = sink_to(f"tcp://[::1]:{listener.getsockname()[1]}")
    tcp(ALERT)
    conn, _ = listener.accept()
    length, _, rest = conn.recv(65536).partition(b" ")
    check_message(rest[: int(length)])
    assert (sink.sent, tcp.sent) == (1, 1)
    conn.close()
    listener.close()
    tcp.close()


def test_syslog_tcp_to_a_closed_port_is_counted() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]  # bound, never listening: connections are refused
        sink = sink_to(f"tcp://localhost:{port}")
        sink(ALERT)
    assert (sink.sent, sink.failed) == (0, 1)


def test_syslog_tcp_octet_counting() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    sink = sink_to(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    sink(ALERT)
    sink(ALERT)
    conn, _ = server.accept()
    data = b""
    while data.count(BOM.encode()) < 2:
        data += conn.recv(65536)
    for _ in range(2):
        length, _, rest = data.partition(b" ")
        check_message(rest[: int(length)])
        data = rest[int(length) :]
    conn.close()
    server.close()
    sink.close()


def test_syslog_unix_datagram_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    sink = sink_to(f"unix://{path}")
    sink(ALERT)
    check_message(server.recv(65536))
    server.close()
    path.unlink()
    sink.close()
    sink(ALERT)  # nobody listens: counted, not raised
    assert (sink.sent, sink.failed) == (1, 1)
    with pytest.raises(SyslogError):
        SyslogTarget.parse("http://x")


class Recorder(BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = []
    bodies: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.bodies.append(json.loads(body))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def serve(statuses: list[int]) -> tuple[HTTPServer, type[Recorder]]:
    handler = type("H", (Recorder,), {"statuses": statuses, "bodies": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def test_webhook_retries_with_backoff() -> None:
    server, handler = serve([503, 500])
    delays: list[float] = []
    sink = WebhookSink(
        f"http://127.0.0.1:{server.server_address[1]}/alerts", backoff_s=0.01, sleep=delays.append
    )
    sink(ALERT)
    sink.close()
    server.shutdown()
    assert handler.bodies == [DOCUMENT]
    assert delays == [0.01, 0.02] and (sink.sent, sink.retries, sink.failed) == (1, 2, 0)


def test_webhook_gives_up_on_client_error_and_when_down() -> None:
    server, _ = serve([400])
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    sink = WebhookSink(url, sleep=lambda _: None)
    sink(ALERT)
    sink.close()
    server.shutdown()
    server.server_close()
    assert (sink.sent, sink.failed, sink.retries) == (0, 1, 0)
    down = WebhookSink(url, attempts=3, sleep=lambda _: None)
    down(ALERT)
    down.close()
    assert (down.failed, down.retries) == (1, 2)


def test_rotating_file_keeps_n_backups_and_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    out = RotatingFile(path, max_bytes=20, backups=2)
    for n in range(8):
        out.write(f"alert number {n}")
        out.write("\n")
    out.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["alerts.jsonl", "alerts.jsonl.1", "alerts.jsonl.2"]
    assert path.read_text() == "alert number 6\nalert number 7\n"
    assert (tmp_path / "alerts.jsonl.2").read_text() == "alert number 2\nalert number 3\n"
    assert out.rotations == 3
