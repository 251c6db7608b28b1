"""Live outputs against local endpoints: the syslog transport (UDP, TCP, unix datagram), the
webhook transport (a local http.server: statuses, batch bodies) and the rotating file. Delivery
through the spool: tests/outputs/."""

from __future__ import annotations

import json
import socket
import struct
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from detect.core.alert import Alert, RuleInfo
from detect.outputs.rotating import RotatingFile
from detect.outputs.syslog import BOM, SyslogError, SyslogFormat, SyslogTarget, SyslogTransport
from detect.outputs.webhook import WebhookTransport, display_name

RULE = RuleInfo(
    "r1",
    "Rule one",
    "high",
    "r.yml",
    (),
    {"event": {"kind": "alert"}, "rule": {"id": "r1"}, "detect": {"level": "high"}},
)
ALERT = Alert(RULE, 1_764_000_000_000, None, [])
DOCUMENT: dict[str, Any] = ALERT.document()
NOW = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
MESSAGE = SyslogFormat("local0", host="h1", clock=lambda: NOW)(ALERT)


def transport_to(url: str) -> SyslogTransport:
    return SyslogTransport(SyslogTarget.parse(url), timeout_s=5, confirm_s=0.05)


def check_message(message: bytes) -> None:
    text = message.decode("utf-8")
    head, _, body = text.partition(BOM)
    assert head.startswith("<131>1 2026-11-22T10:00:00.123456Z h1 detect ")  # local0*8 + err
    assert head.endswith(" alert - ")
    assert json.loads(body) == DOCUMENT


def test_syslog_udp_is_sent_not_confirmed() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    transport = transport_to(f"udp://127.0.0.1:{server.getsockname()[1]}")
    assert transport.send([MESSAGE]).accepted
    check_message(server.recv(65536))
    assert not transport.confirms and transport.batch_records == 1
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
    assert transport_to(f"udp://[::1]:{server.getsockname()[1]}").send([MESSAGE]).accepted
    check_message(server.recv(65536))
    server.close()
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.settimeout(5)
    listener.bind(("::1", 0))
    listener.listen(1)
    tcp = transport_to(f"tcp://[::1]:{listener.getsockname()[1]}")
    assert tcp.name == f"syslog tcp://[::1]:{listener.getsockname()[1]}"
    assert tcp.send([MESSAGE]).accepted
    conn, _ = listener.accept()
    length, _, rest = conn.recv(65536).partition(b" ")
    check_message(rest[: int(length)])
    conn.close()
    listener.close()
    tcp.close()


def test_syslog_tcp_to_a_closed_port_is_tried_again() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]  # bound, never listening: connections are refused
        outcome = transport_to(f"tcp://localhost:{port}").send([MESSAGE])
    assert (outcome.accepted, outcome.retry, outcome.reason) == (False, True, "connection refused")


def test_syslog_tcp_sends_a_batch_of_octet_counted_frames() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    transport = transport_to(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    assert transport.confirms and transport.batch_records > 1
    assert transport.send([MESSAGE, MESSAGE]).accepted
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
    transport.close()


def test_syslog_tcp_reset_by_the_receiver_is_not_accepted() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def reset_each() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST: what it had received is lost

    threading.Thread(target=reset_each, daemon=True).start()
    transport = transport_to(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    outcomes = [transport.send([MESSAGE] * 3) for _ in range(5)]
    assert not any(outcome.accepted for outcome in outcomes)
    assert all(outcome.retry for outcome in outcomes)
    server.close()


def test_syslog_unix_datagram_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    transport = transport_to(f"unix://{path}")
    assert transport.send([MESSAGE]).accepted and transport.confirms
    check_message(server.recv(65536))
    too_large = transport.send([b"x" * (1 << 22)])
    assert (too_large.accepted, too_large.retry) == (False, False)  # refused for good
    server.close()
    path.unlink()
    down = transport.send([MESSAGE])  # nobody listens: tried again later
    assert (down.accepted, down.retry) == (False, True)
    with pytest.raises(SyslogError):
        SyslogTarget.parse("http://x")


class Recorder(BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = []
    bodies: ClassVar[list[Any]] = []
    authorizations: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.bodies.append(json.loads(body))
            self.authorizations.append(self.headers.get("Authorization"))
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", "7")
        if status == 301:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def serve(statuses: list[int]) -> tuple[HTTPServer, type[Recorder]]:
    handler = type("H", (Recorder,), {"statuses": statuses, "bodies": [], "authorizations": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


PAYLOAD = json.dumps(DOCUMENT).encode()


def test_webhook_answers_decide_accepted_retry_or_refused() -> None:
    server, handler = serve([503, 429, 301, 500, 408, 400, 404])
    url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    transport = WebhookTransport(url, batch=1, timeout_s=5)
    outcomes = [transport.send([PAYLOAD]) for _ in range(8)]
    assert [(o.accepted, o.retry) for o in outcomes] == [
        (False, True),
        (False, True),
        (False, True),
        (False, True),
        (False, True),
        (False, False),
        (False, False),
        (True, False),
    ]
    assert [o.reason for o in outcomes][:2] == ["HTTP 503", "HTTP 429"]
    assert outcomes[0].retry_after_s == 7.0 and "redirects are not followed" in outcomes[2].reason
    assert handler.bodies == [DOCUMENT]  # batch 1: the alert's object itself, not GET-redirected
    server.shutdown()
    server.server_close()
    down = transport.send([PAYLOAD])
    assert (down.accepted, down.retry, down.reason) == (False, True, "connection refused")


def test_webhook_batches_are_json_arrays() -> None:
    server, handler = serve([])
    url = f"http://u:secret@127.0.0.1:{server.server_address[1]}/hook/TOKEN?k=v"
    transport = WebhookTransport(url, batch=50)
    assert transport.send([PAYLOAD]).accepted and transport.send([PAYLOAD] * 3).accepted
    assert handler.bodies == [[DOCUMENT], [DOCUMENT] * 3]
    assert handler.authorizations == ["Basic dTpzZWNyZXQ="] * 2  # u:secret, not in the URL
    assert display_name(url) == f"webhook http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    with pytest.raises(ValueError, match="not an http"):
        WebhookTransport("ftp://x/")


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
