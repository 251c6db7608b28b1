"""Alerts to an HTTP webhook: each alert POSTed as JSON, from a sender thread so that a slow or
failing endpoint never holds up detection. A failed POST (connection error, 5xx, 429) is tried
again after a delay that doubles each time (`backoff_s`, 2×, 4×… up to `max_backoff_s`), up to
`attempts` times; a 4xx other than 429 is not retried. Alerts wait in a bounded queue; when it
is full they are dropped and counted."""

from __future__ import annotations

import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from detect.core.alert import Alert
from detect.outputs.events import dumps

ATTEMPTS = 5
BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 5.0
QUEUE_SIZE = 10_000
CLOSE_WAIT_S = 10.0
RETRY_STATUS = frozenset((408, 429))
_STOP = object()


def post_json(url: str, body: bytes, timeout: float) -> int:
    """POST; the HTTP status (an HTTPError's too); OSError when nothing answered."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def should_retry(status: int | None) -> bool:
    return status is None or status >= 500 or status in RETRY_STATUS


class WebhookSink:
    def __init__(
        self,
        url: str,
        *,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        queue_size: int = QUEUE_SIZE,
        post: Callable[[str, bytes, float], int] = post_json,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url}: not an http(s) URL")
        self.url = url
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._post = post
        self._sleep = sleep
        self._queue: queue.Queue[object] = queue.Queue(queue_size)
        self.sent = self.failed = self.dropped = self.retries = 0
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def __call__(self, alert: Alert) -> None:
        try:
            self._queue.put_nowait(dumps(alert.document()).encode("utf-8", "surrogateescape"))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            try:
                if body is _STOP:
                    return
                assert isinstance(body, bytes)
                self._deliver(body)
            finally:
                self._queue.task_done()

    def _deliver(self, body: bytes) -> None:
        delay = self.backoff_s
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                self._sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
            try:
                status: int | None = self._post(self.url, body, TIMEOUT_S)
            except OSError:
                status = None
            if status is not None and 200 <= status < 300:
                self.sent += 1
                return
            if not should_retry(status):
                break
        self.failed += 1

    def flush(self) -> None:
        """Alerts are sent by the thread as they come; `close` waits for the queue."""

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._queue.put(_STOP, timeout=wait_s)
        except queue.Full:
            return
        self._thread.join(wait_s)
