"""Real local receivers for the delivery tests: an HTTP webhook (http.server in a thread) and a
syslog TCP listener (octet-counted frames), each down until started, then failing (HTTP 500; a
connection reset at once), then accepting. They keep every alert they accepted (duplicates
too) and dedupe by `event.id`, as a SIEM would."""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.stream.helpers import DETECT, read_alerts

BOM = "\ufeff".encode()


def free_port() -> int:
    """A port nothing listens on (connections to it are refused until a receiver starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.failing = True
        self.failures = 0
        self.alerts: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def accept(self) -> None:
        self.failing = False

    def name(self) -> str:
        """How the stream's messages and counts name this output."""
        raise NotImplementedError

    def took(self, documents: list[dict[str, Any]]) -> None:
        with self.lock:
            self.alerts += documents

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(alert["event"]["id"] for alert in self.alerts)


class Webhook(Receiver):
    """POSTs of a JSON array (or one object) of alerts; 500 while failing."""

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing:
                    receiver.failures += 1
                    self.send_response(500)
                else:
                    data = json.loads(body)
                    receiver.took(data if isinstance(data, list) else [data])
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def name(self) -> str:
        return f"webhook http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SyslogListener(Receiver):
    """RFC 6587 octet-counted RFC 5424 messages; while failing, each connection is reset as
    soon as it is accepted (what it had received is lost)."""

    def start(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def name(self) -> str:
        return f"syslog {self.url}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.failing:
                self.failures += 1
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while data := conn.recv(1 << 16):
                buffer += data
                buffer = self._frames(buffer)

    def _frames(self, buffer: bytes) -> bytes:
        while b" " in buffer:
            length, _, rest = buffer.partition(b" ")
            if len(rest) < int(length):
                break
            message, buffer = rest[: int(length)], rest[int(length) :]
            self.took([json.loads(message.partition(BOM)[2])])
        return buffer

    def stop(self) -> None:
        self.listener.close()


def scan_ids(paths: list[Path], host: str, out: Path, *rules: str) -> Counter[str]:
    """`event.id` of each alert `detect scan` writes for the same input."""
    import subprocess

    command = [str(DETECT), "scan", *map(str, paths), "--no-triage", "--host", host, *rules]
    with out.open("w") as stream:
        subprocess.run(command, stdout=stream, stderr=subprocess.DEVNULL, check=False)
    return Counter(alert["event"]["id"] for alert in read_alerts(out))


END_COUNTS = re.compile(
    r"(?P<name>(?:webhook|syslog) \S+): delivered (?P<delivered>\d+), pending (?P<pending>\d+), "
    r"retried (?P<retried>\d+), dropped (?P<dropped>\d+)"
)


def delivery_counts(line: str) -> dict[str, dict[str, int]]:
    """The per-output counts of a stats or end line, by output name."""
    return {
        match["name"]: {
            key: int(match[key]) for key in ("delivered", "pending", "retried", "dropped")
        }
        for match in END_COUNTS.finditer(line)
    }
