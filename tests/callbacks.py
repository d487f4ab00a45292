"""An outside system's callback endpoint on this machine, for the callbacks the console POSTs
(approvals to outside agents, applications' decisions)."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings


class CallbackReceiver:
    """Keeps every POST it gets, after refusing the first `failures` with 503 (each counted in
    `attempts`)."""

    def __init__(self, failures: int = 0):
        self.calls: list[tuple[dict, bytes]] = []
        self.failures, self.attempts = failures, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.attempts += 1
                if owner.attempts <= owner.failures:
                    self.send_response(503)
                else:
                    owner.calls.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/decisions"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def decisions(self) -> list[dict]:
        """The bodies received, each checked against its signature."""
        found = []
        for headers, body in self.calls:
            signature = hmac.new(settings.APPROVALS_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-HIL-Signature"] == f"sha256={signature}"
            found.append(json.loads(body))
        return found
