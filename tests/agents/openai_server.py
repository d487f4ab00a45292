"""A local OpenAI-compatible server for gateway tests; its behaviour depends on the model name.

`ok` answers, `tool` asks for a tool call, `limited` answers 429 with Retry-After once and then
answers, `broken` always fails with 500, `slow` answers after 3 s.
"""

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OpenAIServer:
    def __init__(self):
        self.requests = Counter()
        self.authorization: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real providers do: the gateway's measured cost must not be reconnects.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model = body["model"]
                owner.requests[model] += 1
                owner.authorization.append(self.headers.get("Authorization", ""))
                status, headers, payload = owner.respond(model, owner.requests[model])
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def respond(self, model: str, attempt: int):
        if model == "broken":
            return 500, {}, {"error": {"message": "upstream exploded", "type": "server_error"}}
        if model == "limited" and attempt == 1:
            return 429, {"Retry-After": "1"}, {"error": {"message": "slow down", "type": "rate_limit_error"}}
        if model == "slow":
            time.sleep(3)
        message = {"role": "assistant", "content": f"Hello from {model}"}
        if model == "tool":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_order_status", "arguments": '{"order_number": "100234"}'},
                    }
                ],
            }
        return (
            200,
            {},
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if model == "tool" else "stop"}
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
            },
        )
