"""Signed webhook POSTs: HMAC-SHA256 of the raw body with the rule's secret, a delivery id
for receivers to de-duplicate, retries with exponential backoff and jitter on 5xx, 429,
timeouts and connection errors, never a redirect, every attempt through the SSRF guard."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from keyart.alerts.guard import RefusedTarget, WebhookGuard

USER_AGENT = "keyart-webhooks/1"
MAX_BACKOFF_S = 30.0


def signature(body: bytes, secret: str) -> str:
    """The X-Keyart-Signature value of a body: sha256=<hex HMAC-SHA256 with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Whether `header` is the signature of `body` (what a receiver checks)."""
    return hmac.compare_digest(signature(body, secret), header)


class _Retryable(Exception):
    """An attempt worth repeating (5xx, 429, timeout, connection error)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery ended: delivered or failed, after how many attempts."""

    delivered: bool
    attempts: int
    status: int | None  # the last HTTP status received
    error: str | None
    latency_s: float  # from the first attempt to the end


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """Sends one delivery with bounded, backed-off retries."""

    guard: WebhookGuard
    timeout_s: float = 5.0
    attempts: int = 5
    backoff_s: float = 0.5

    def client(self) -> httpx.Client:
        """An HTTP client for a batch of deliveries (never follows redirects)."""
        return httpx.Client(timeout=self.timeout_s, follow_redirects=False)

    def send(
        self,
        delivery_id: str,
        url: str,
        body: bytes,
        secret: str,
        client: httpx.Client | None = None,
    ) -> Outcome:
        """POST `body` to `url` until it is accepted (2xx), refused for good (other 4xx, a
        redirect, a refused target) or `attempts` are spent (over `client`, else a new one)."""
        started = time.perf_counter()
        tried = 0
        last_status: int | None = None

        def attempt(client: httpx.Client) -> int:
            nonlocal tried, last_status
            tried += 1
            self.guard.check(url)  # again each time: DNS may answer differently now
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Keyart-Delivery": delivery_id,
                "X-Keyart-Timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                "X-Keyart-Signature": signature(body, secret),
            }
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.TimeoutException as exc:
                raise _Retryable(f"timed out after {self.timeout_s}s") from exc
            except httpx.TransportError as exc:
                raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
            last_status = response.status_code
            if response.status_code >= 500 or response.status_code == 429:
                raise _Retryable(f"HTTP {response.status_code}", response.status_code)
            return response.status_code

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            # backoff_s, 2·backoff_s, 4·backoff_s … plus up to backoff_s of jitter
            wait=wait_exponential(multiplier=self.backoff_s, max=MAX_BACKOFF_S)
            + wait_random(0, self.backoff_s),
            retry=retry_if_exception_type(_Retryable),
            reraise=False,
        )
        try:
            if client is None:
                with self.client() as own:
                    status = retrying(attempt, own)
            else:
                status = retrying(attempt, client)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            return Outcome(False, tried, last_status, str(cause), _since(started))
        except RefusedTarget as exc:
            return Outcome(False, tried, None, str(exc), _since(started))
        if 200 <= status < 300:
            return Outcome(True, tried, status, None, _since(started))
        what = "a redirect (not followed)" if 300 <= status < 400 else "refused"
        return Outcome(False, tried, status, f"HTTP {status}: {what}", _since(started))


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 4)


__all__ = ["Outcome", "WebhookSender", "signature", "verify"]
