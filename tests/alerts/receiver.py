"""A real webhook receiver on loopback: an HTTP server thread that records every POST,
checks its signature with its own HMAC (not keyart's), and can fail the first N."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the receiver answered."""

    delivery: str
    timestamp: str
    signature: str
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)


@dataclass
class Receiver:
    """Answers `fail_first` requests with `fail_status`, then 204; `redirect` answers 302."""

    fail_first: int = 0
    fail_status: int = 500
    redirect: bool = False
    requests: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def delivered(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        """Block until `count` deliveries succeeded (AssertionError after the timeout)."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.delivered()) >= count, timeout_s)
        assert ok, f"{len(self.delivered())} of {count} deliveries within {timeout_s}s"
        return self.delivered()

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.arrived:
                    failing = len(receiver.requests) < receiver.fail_first
                    status = 302 if receiver.redirect else receiver.fail_status if failing else 204
                    receiver.requests.append(
                        Received(
                            self.headers.get("X-Keyart-Delivery", ""),
                            self.headers.get("X-Keyart-Timestamp", ""),
                            self.headers.get("X-Keyart-Signature", ""),
                            body,
                            status,
                        )
                    )
                    receiver.arrived.notify_all()
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
