"""Alerts to an HTTP(S) webhook, through the output's spool (detect.outputs.delivery).

Body: with `--webhook-batch 1`, one alert per POST, the alert's JSON object as the body; with a
batch of N > 1 (the default, 100), a JSON array of 1 to N alert objects per POST (the shape
Logstash's and Fluentd's HTTP inputs and most collectors split into events), at most about
1 MiB. `Content-Type: application/json` either way.

The answer decides: 2xx accepted; 408, 429, 5xx, a redirect (not followed: a POST must not turn
into a GET elsewhere), no answer or a broken connection: tried again later (a `Retry-After` in
seconds is honoured within the backoff cap); any other 4xx: refused for good, those alerts are
dropped and counted. Receivers may see an alert twice (at-least-once): `event.id` tells.
"""

from __future__ import annotations

import base64
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from detect.core.alert import Alert
from detect.outputs.delivery import (
    ACCEPTED,
    DeliverySettings,
    Outcome,
    RemoteOutput,
    failed,
    refused,
)
from detect.outputs.events import dumps
from detect.outputs.spool import Spool, spool_name

BATCH = 100
TIMEOUT_S = 10.0
RETRY_STATUS = frozenset((408, 429))

Post = Callable[[str, bytes, float, dict[str, str]], "Answer"]


class Answer:
    """The status of an HTTP answer and its Retry-After (seconds), if it gave one."""

    __slots__ = ("retry_after_s", "status")

    def __init__(self, status: int, retry_after_s: float | None = None) -> None:
        self.status = status
        self.retry_after_s = retry_after_s


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx comes back as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: bytes, timeout: float, headers: dict[str, str]) -> Answer:
    """POST `body`; the answer (an HTTPError's too). OSError or HTTPException when nothing (or
    nothing HTTP) answered."""
    headers = {"Content-Type": "application/json", **headers}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return Answer(int(response.status))
    except urllib.error.HTTPError as error:
        return Answer(int(error.code), _retry_after(error.headers.get("Retry-After")))


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def outcome_of(answer: Answer) -> Outcome:
    status = answer.status
    if 200 <= status < 300:
        return ACCEPTED
    reason = f"HTTP {status}"
    if 300 <= status < 400:
        return failed(f"{reason}: redirects are not followed, fix the URL")
    if status >= 500 or status in RETRY_STATUS:
        return failed(reason, answer.retry_after_s)
    return refused(reason)


def webhook_body(payloads: Sequence[bytes], batch: int) -> bytes:
    """One alert's object (`batch` 1), else a JSON array of the alerts."""
    if batch == 1:
        return payloads[0]
    return b"[" + b",".join(payloads) + b"]"


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """`https://user:password@host/…` → the URL without them, and a Basic Authorization
    header (urllib does not send what a URL holds)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, {}
    netloc = parts.netloc.rpartition("@")[2]
    secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    header = "Basic " + base64.b64encode(secret).decode("ascii")
    return urlunsplit(parts._replace(netloc=netloc)), {"Authorization": header}


def display_name(url: str) -> str:
    """The URL without what may be secret (user, password, path, query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"webhook {parts.scheme}://{host}{port}"


class WebhookTransport:
    confirms = True

    def __init__(
        self,
        url: str,
        *,
        batch: int = BATCH,
        timeout_s: float = TIMEOUT_S,
        post: Post = post_json,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url}: not an http(s) URL")
        if batch < 1:
            raise ValueError("a webhook batch holds at least 1 alert")
        self.url, self.headers = split_credentials(url)
        self.name = display_name(url)
        self.batch_records = batch
        self.timeout_s = timeout_s
        self._post = post

    def send(self, payloads: Sequence[bytes]) -> Outcome:
        body = webhook_body(payloads, self.batch_records)
        try:
            answer = self._post(self.url, body, self.timeout_s, self.headers)
        except (OSError, http.client.HTTPException) as error:
            return failed(_reason(error))
        return outcome_of(answer)

    def close(self) -> None:
        """Nothing held between requests."""


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, Exception):
        error = error.reason
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def encode_alert(alert: Alert) -> bytes:
    return dumps(alert.document()).encode("utf-8", "surrogateescape")


def webhook_output(url: str, batch: int, settings: DeliverySettings) -> RemoteOutput:
    transport = WebhookTransport(url, batch=batch)
    spool = Spool(
        settings.spool, spool_name("webhook", url), max_bytes=settings.max_bytes, say=settings.say
    )
    return RemoteOutput(transport, encode_alert, spool, backoff=settings.backoff, say=settings.say)
